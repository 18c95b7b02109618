#include "rootfs/view.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <optional>

using namespace urunc;
using namespace urunc::rootfs;
using namespace urunc::rootfs::test;

namespace {

// <tmp>/rootfs: a plain directory (on the filesystem of /tmp).
// <tmp>/view:   a tmpfs holding "kernel" and "sub/", remounted read-only.
struct Setup {
    TempDir tmp;
    std::string rootfs = tmp / "rootfs";
    std::string view = tmp / "view";
    std::optional<ScopedMount> view_mount;
    Setup()
    {
        enter_private_mount_ns();
        mkdir_p(rootfs);
        mkdir_p(view);
        view_mount.emplace("tmpfs", view, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k");
        write_text(view + "/kernel", "KERNEL");
        mkdir_p(view + "/sub");
        if (::mount(nullptr, view.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) < 0)
            throw sys_error("remount ro");
    }
    std::string check(const std::string &value, const std::vector<std::string> &prefixes = {"/"},
                      const std::string &root = "")
    {
        auto mi = MountInfo::load();
        return error_of([&] { validate_view(value, root.empty() ? rootfs : root, prefixes, mi); });
    }
};

std::string rule(const std::string &value, const std::string &text)
{
    return "snapshot view `" + value + "`: " + text;
}

}  // namespace

TEST_CASE("view: a read-only mount on another filesystem is accepted", "[rootfs][view][privileged]")
{
    Setup s;
    auto v = validate_view(s.view, s.rootfs, {"/"}, MountInfo::load());
    CHECK(v.path == s.view);
    CHECK(v.fstype == "tmpfs");
    struct stat st;
    REQUIRE(::fstat(v.dirfd.get(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    struct stat byname;
    REQUIRE(::stat(s.view.c_str(), &byname) == 0);
    CHECK(v.dev == byname.st_dev);
    CHECK(st.st_ino == byname.st_ino);
    CHECK(v.mount_id == MountInfo::load().find_mount(s.view)->id);
}

TEST_CASE("view: must be absolute and normalised", "[rootfs][view][privileged]")
{
    Setup s;
    CHECK(s.check("") == rule("", "must be an absolute path"));
    std::string rel = s.view.substr(1);
    CHECK(s.check(rel) == rule(rel, "must be an absolute path"));
    for (std::string v : {s.view + "/", s.tmp.path() + "//view", s.view + "/.", s.view + "/../view",
                          s.view + "/sub/.."}) {
        INFO(v);
        CHECK(s.check(v) == rule(v, "must be a normalised path (no `.` or `..` components, `//` "
                                    "or trailing `/`)"));
    }
}

TEST_CASE("view: must be under an allowed prefix when there are any", "[rootfs][view][privileged]")
{
    Setup s;
    CHECK(s.check(s.view, {s.tmp.path()}).empty());
    CHECK(s.check(s.view, {"/nowhere", s.tmp.path() + "/"}).empty());
    CHECK(s.check(s.view, {s.view}).empty());
    CHECK(s.check(s.view, {"/"}).empty());
    // Prefixes match whole components: "/tmp/urunc-x" does not allow "/tmp/urunc-xy".
    std::string partial = s.tmp.path().substr(0, s.tmp.path().size() - 1);
    CHECK(
        s.check(s.view, {partial, "/run/urunc"}) ==
        rule(s.view, "must be under one of the allowed prefixes `" + partial + "`, `/run/urunc`"));
}

TEST_CASE("view: an empty prefix list allows nothing (it no longer means anywhere)",
          "[rootfs][view][privileged]")
{
    Setup s;
    CHECK(s.check(s.view, {}) ==
          rule(s.view, "no allowed prefix is configured (snapshot_view.allowed_prefixes)"));
}

TEST_CASE("view: must exist and be a directory", "[rootfs][view][privileged]")
{
    Setup s;
    CHECK(s.check(s.tmp / "absent") == rule(s.tmp / "absent", "does not exist"));
    CHECK(s.check(s.view + "/kernel") == rule(s.view + "/kernel", "must be a directory"));
}

TEST_CASE("view: no component may be a symlink", "[rootfs][view][privileged]")
{
    Setup s;
    REQUIRE(::symlink(s.view.c_str(), (s.tmp / "link").c_str()) == 0);
    CHECK(s.check(s.tmp / "link") == rule(s.tmp / "link", "must not go through a symlink (`" +
                                                              (s.tmp / "link") + "` is one)"));
    REQUIRE(::symlink(".", (s.tmp / "here").c_str()) == 0);
    std::string via = s.tmp / "here/view";
    CHECK(s.check(via) ==
          rule(via, "must not go through a symlink (`" + (s.tmp / "here") + "` is one)"));
}

TEST_CASE("view: must be a mountpoint", "[rootfs][view][privileged]")
{
    Setup s;
    mkdir_p(s.tmp / "plain");
    CHECK(s.check(s.tmp / "plain") ==
          rule(s.tmp / "plain", "must be a mountpoint (the shim mounts the view there)"));
    // A directory inside the view is on a read-only mount but is not the view.
    CHECK(s.check(s.view + "/sub") ==
          rule(s.view + "/sub", "must be a mountpoint (the shim mounts the view there)"));
}

TEST_CASE("view: must be mounted read-only, per mount or per superblock",
          "[rootfs][view][privileged]")
{
    Setup s;
    std::string rw = s.tmp / "rw";
    mkdir_p(rw);
    ScopedMount m("tmpfs", rw, "tmpfs", 0, "size=64k");
    CHECK(s.check(rw) == rule(rw, "must be mounted read-only (mount options `rw,relatime`, "
                                  "filesystem `rw,size=64k`)"));
    // A read-only bind of the rw tmpfs: per-mount ro is enough.
    std::string bind = s.tmp / "robind";
    mkdir_p(bind);
    ScopedMount b(rw, bind, "", MS_BIND);
    REQUIRE(::mount(nullptr, bind.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) ==
            0);
    CHECK(s.check(bind).empty());
    CHECK(MountInfo::load().find_mount(bind)->super_options.find("rw") == 0);
}

TEST_CASE("view: must not be the rootfs nor share its filesystem", "[rootfs][view][privileged]")
{
    Setup s;
    // The rootfs is itself a mount here (as with a block rootfs), read-only for the test.
    CHECK(s.check(s.view, {"/"}, s.view) ==
          rule(s.view, "must not be the container rootfs `" + s.view + "` itself"));
    // A read-only bind of a directory on the rootfs' filesystem is the rootfs in disguise.
    std::string bind = s.tmp / "bind";
    mkdir_p(bind);
    ScopedMount b(s.rootfs, bind, "", MS_BIND);
    REQUIRE(::mount(nullptr, bind.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) ==
            0);
    std::string msg = s.check(bind);
    CHECK(msg.find(rule(bind, "must be on another filesystem than the container rootfs `" +
                                  s.rootfs + "` (both are on device ")) == 0);
    // And the rootfs path must be given.
    auto mi = MountInfo::load();
    CHECK(error_of([&] { validate_view(s.view, "", {"/"}, mi); }) ==
          rule(s.view,
               "the container rootfs path is empty, so the view cannot be checked against it"));
}

TEST_CASE("view: a mount table older than the view is refused", "[rootfs][view][privileged]")
{
    enter_private_mount_ns();
    TempDir tmp;
    mkdir_p(tmp / "rootfs");
    mkdir_p(tmp / "view");
    auto before = MountInfo::load();
    ScopedMount m("tmpfs", tmp / "view", "tmpfs", MS_RDONLY, "size=64k");
    std::string msg = error_of([&] { validate_view(tmp / "view", tmp / "rootfs", {"/"}, before); });
    CHECK(msg.find(rule(tmp / "view", "its mount (id ")) == 0);
    CHECK(msg.find("is not in the mount table") != std::string::npos);
}

namespace {

// A fake sysfs: <root>/dev/block/M:m/{loop/backing_file | dm/name}.
struct FakeSysfs {
    TempDir tmp;
    void loop(unsigned major, unsigned minor, const std::string &backing)
    {
        std::string d =
            tmp / ("dev/block/" + std::to_string(major) + ":" + std::to_string(minor) + "/loop");
        mkdir_p(d);
        write_text(d + "/backing_file", backing + "\n");
    }
    void plain(unsigned major, unsigned minor)
    {
        mkdir_p(tmp / ("dev/block/" + std::to_string(major) + ":" + std::to_string(minor)));
    }
};

BlockDevice loop_rootfs(const std::string &backing)
{
    BlockDevice d;
    d.path = "/dev/loop1";
    d.major = 7;
    d.minor = 1;
    d.kind = BlockKind::loop;
    d.loop_backing_file = backing;
    return d;
}

}  // namespace

TEST_CASE("view provenance: loop views must be backed in the rootfs image's directory",
          "[rootfs][view]")
{
    FakeSysfs fs;
    const std::string pre =
        "snapshot view `/v`: does not come from the container rootfs's snapshotter (";
    auto check = [&](const BlockDevice &root, unsigned minor) {
        return error_of(
            [&] { check_view_provenance("/v", makedev(7, minor), root, fs.tmp.path()); });
    };
    fs.loop(7, 2, "/var/lib/blk/snapshots/3");
    fs.loop(7, 3, "/var/lib/other/snapshots/3");
    fs.loop(7, 4, "/var/lib/blk/snapshots/9 (deleted)");
    fs.plain(7, 5);
    // same snapshotter: both image files in its snapshots directory
    CHECK(check(loop_rootfs("/var/lib/blk/snapshots/7"), 2).empty());
    CHECK(check(loop_rootfs("/var/lib/blk/snapshots/7"), 3) ==
          pre + "the view's loop device 7:3 is backed by `/var/lib/other/snapshots/3`, not in "
                "`/var/lib/blk/snapshots` with the rootfs's `/var/lib/blk/snapshots/7`)");
    CHECK(check(loop_rootfs("/var/lib/blk/snapshots/7"), 4) ==
          pre +
              "loop backing file `/var/lib/blk/snapshots/9 (deleted)` is not a file that exists)");
    CHECK(check(loop_rootfs("/var/lib/blk/snapshots/7"), 5) ==
          pre + "the rootfs `/dev/loop1` is a loop device, the view's device 7:5 is not)");
    // not a loop nor device-mapper rootfs: nothing to check the view against
    BlockDevice disk = loop_rootfs("");
    disk.kind = BlockKind::other;
    disk.path = "/dev/sdb";
    CHECK(check(disk, 2) ==
          pre + "the rootfs `/dev/sdb` is neither a loop nor a device-mapper device, so the "
                "view's origin cannot be checked)");
    // a device-mapper rootfs and a loop view
    BlockDevice dm = loop_rootfs("");
    dm.kind = BlockKind::device_mapper;
    dm.path = "/dev/mapper/pool-snap-1";
    CHECK(check(dm, 2) ==
          pre + "the rootfs `/dev/mapper/pool-snap-1` is a device-mapper device, the view's "
                "device 7:2 is not)");
}
