#include "rootfs/mountinfo.hpp"

#include "base/error.hpp"
#include "base/file.hpp"

#include <catch2/catch.hpp>

#include <cerrno>

using namespace urunc;
using namespace urunc::rootfs;

namespace {
std::string fixture(const std::string &name) { return std::string(ROOTFS_FIXTURES) + "/" + name; }
}  // namespace

TEST_CASE("mountinfo: a real block device mount", "[rootfs][mountinfo]")
{
    auto mi = MountInfo::load(fixture("host.mountinfo"));
    const auto *e =
        mi.find_mount("/run/containerd/io.containerd.runtime.v2.task/default/web/rootfs");
    REQUIRE(e);
    CHECK(e->id == 30);
    CHECK(e->parent == 25);
    CHECK(e->major == 7);
    CHECK(e->minor == 3);
    CHECK(e->root == "/");
    CHECK(e->fstype == "ext4");
    CHECK(e->source == "/dev/loop3");
    CHECK(e->options == "rw,relatime");
    CHECK(e->super_options == "rw");
    CHECK(e->propagation == "shared:120");
    CHECK_FALSE(e->read_only());
}

TEST_CASE("mountinfo: a bind mount of a subdirectory keeps its root", "[rootfs][mountinfo]")
{
    auto mi = MountInfo::load(fixture("host.mountinfo"));
    const auto *e = mi.find_mount("/srv/bound lib");  // \040 decoded
    REQUIRE(e);
    CHECK(e->root == "/lib");
    CHECK(e->source == "/dev/loop3");
    CHECK(e->read_only());  // per-mount ro over an rw superblock
}

TEST_CASE("mountinfo: overlay, device-mapper and superblock-ro tmpfs", "[rootfs][mountinfo]")
{
    auto mi = MountInfo::load(fixture("host.mountinfo"));
    const auto *ov =
        mi.find_mount("/run/containerd/io.containerd.runtime.v2.task/default/app/rootfs");
    REQUIRE(ov);
    CHECK(ov->fstype == "overlay");
    CHECK(ov->major == 0);
    CHECK(has_option(ov->super_options, "workdir=/var/lib/containerd/w"));
    const auto *dm =
        mi.find_mount("/run/containerd/io.containerd.runtime.v2.task/default/db/rootfs");
    REQUIRE(dm);
    CHECK(dm->major == 253);
    CHECK(dm->source == "/dev/mapper/containerd-pool-snap-7");
    const auto *ro = mi.find_mount("/mnt/ro");
    REQUIRE(ro);
    CHECK(ro->options == "rw,relatime");
    CHECK(ro->read_only());  // superblock ro
    CHECK(ro->propagation.empty());
}

TEST_CASE("mountinfo: escaped space, tab and backslash", "[rootfs][mountinfo]")
{
    auto mi = MountInfo::load(fixture("host.mountinfo"));
    const auto *e = mi.find_mount("/run/urunc/view one\ttab\\back");
    REQUIRE(e);
    CHECK(e->source == "/dev/loop4");
    CHECK(e->propagation == "master:120");
    CHECK(e->read_only());
}

TEST_CASE("mountinfo: lookups normalise the path and ignore non-mountpoints", "[rootfs][mountinfo]")
{
    auto mi = MountInfo::load(fixture("host.mountinfo"));
    CHECK(mi.is_mountpoint("/"));
    CHECK(mi.is_mountpoint("//run/"));
    CHECK(mi.is_mountpoint("/run/./urunc/../../run"));
    CHECK_FALSE(mi.is_mountpoint("/run/containerd"));
    CHECK_FALSE(mi.is_mountpoint("/srv/bound"));
    CHECK(mi.find_by_id(33)->fstype == "overlay");
    CHECK(mi.find_by_id(999) == nullptr);
}

TEST_CASE("mountinfo: stacked mounts resolve to the top one", "[rootfs][mountinfo]")
{
    auto mi = MountInfo::load(fixture("host.mountinfo"));
    CHECK(mi.find_mount("/tmp")->id == 36);
    // Line order is not trusted: the top mount is the one nothing else sits on.
    auto re = MountInfo::load(fixture("stacked-reordered.mountinfo"));
    CHECK(re.find_mount("/data")->source == "top");
}

TEST_CASE("mountinfo: errors name the file", "[rootfs][mountinfo]")
{
    try {
        MountInfo::load(fixture("malformed.mountinfo"));
        FAIL("malformed file parsed");
    } catch (const Error &e) {
        CHECK(std::string(e.what()).find("malformed.mountinfo`: line 2 is malformed") !=
              std::string::npos);
    }
    try {
        MountInfo::load(fixture("absent.mountinfo"));
        FAIL("absent file parsed");
    } catch (const Error &e) {
        CHECK(e.code() == ENOENT);
        CHECK(std::string(e.what()).find("absent.mountinfo`") != std::string::npos);
    }
}

TEST_CASE("mountinfo: parse() of text gives what load() of the file gives", "[rootfs][mountinfo]")
{
    std::string text = read_file(fixture("host.mountinfo"));
    auto from_text = MountInfo::parse(text, "host");
    auto from_file = MountInfo::load(fixture("host.mountinfo"));
    REQUIRE(from_text.entries().size() == from_file.entries().size());
    for (size_t i = 0; i < from_text.entries().size(); ++i) {
        INFO(i);
        const auto &a = from_text.entries()[i];
        const auto &b = from_file.entries()[i];
        CHECK((a.id == b.id && a.parent == b.parent && a.mountpoint == b.mountpoint &&
               a.source == b.source && a.options == b.options && a.propagation == b.propagation));
    }
    CHECK_THROWS_WITH(MountInfo::parse("", "empty"), "parse `empty`: no mounts in it");
    CHECK_THROWS_WITH(MountInfo::parse(read_file(fixture("malformed.mountinfo")), "m"),
                      "parse `m`: line 2 is malformed");
}

TEST_CASE("mountinfo: the live table has the root mount", "[rootfs][mountinfo]")
{
    auto mi = MountInfo::load();
    const auto *root = mi.find_mount("/");
    REQUIRE(root);
    CHECK_FALSE(root->fstype.empty());
}

TEST_CASE("has_option matches whole words", "[rootfs][mountinfo]")
{
    CHECK(has_option("ro,nosuid", "ro"));
    CHECK(has_option("rw,relatime,ro", "ro"));
    CHECK_FALSE(has_option("rw,errors=remount-ro", "ro"));
    CHECK_FALSE(has_option("", "ro"));
}
