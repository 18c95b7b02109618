#include "rootfs/block.hpp"
#include "rootfs/devmapper.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

using namespace urunc;
using namespace urunc::rootfs;
using namespace urunc::rootfs::test;

namespace {

// An ext4 loop device mounted at <tmp>/mnt, with a subdirectory "sub".
struct MountedLoop {
    TempDir tmp;
    LoopDevice loop{tmp / "disk.img"};
    std::string mnt = tmp / "mnt";
    std::optional<ScopedMount> mounted;
    MountedLoop()
    {
        enter_private_mount_ns();
        mkdir_p(mnt);
        mounted.emplace(loop.path(), mnt, "ext4", 0);
        mkdir_p(mnt + "/sub");
    }
};

std::optional<BlockDevice> detect(const std::string &path, std::string &why)
{
    return block_device_for(path, MountInfo::load(), &why);
}

}  // namespace

TEST_CASE("block: a mounted loop device is a block rootfs", "[rootfs][block][privileged]")
{
    MountedLoop m;
    std::string why;
    auto dev = detect(m.mnt + "/", why);
    REQUIRE(dev);
    CHECK(why.empty());
    CHECK(dev->path == m.loop.path());
    CHECK(dev->fstype == "ext4");
    CHECK(dev->kind == BlockKind::loop);
    CHECK(dev->loop_backing_file == m.tmp / "disk.img");
    CHECK(dev->dm_name.empty());
    struct stat st;
    REQUIRE(::stat(m.loop.path().c_str(), &st) == 0);
    CHECK(dev->major == ::major(st.st_rdev));
    CHECK(dev->minor == ::minor(st.st_rdev));
}

TEST_CASE("block: a bind mount of a subdirectory is refused", "[rootfs][block][privileged]")
{
    MountedLoop m;
    mkdir_p(m.tmp / "bind");
    ScopedMount bind(m.mnt + "/sub", m.tmp / "bind", "", MS_BIND);
    std::string why;
    CHECK_FALSE(detect(m.tmp / "bind", why));
    CHECK(why == "`" + (m.tmp / "bind") + "` is a bind mount of `/sub` on `" + m.loop.path() + "`");
    // ...and the device itself is refused too while that bind exists: it would keep the
    // filesystem mounted on the host while the guest writes the device.
    CHECK_FALSE(detect(m.mnt, why));
    CHECK(why == "`" + m.loop.path() + "` is also bind-mounted at `" + (m.tmp / "bind") +
                     "` (from `/sub`)");
}

TEST_CASE("block: tmpfs, overlay and plain directories are refused", "[rootfs][block][privileged]")
{
    enter_private_mount_ns();
    TempDir tmp;
    std::string why;
    mkdir_p(tmp / "plain");
    CHECK_FALSE(detect(tmp / "plain", why));
    CHECK(why == "`" + (tmp / "plain") + "` is not a mountpoint");

    mkdir_p(tmp / "tmpfs");
    ScopedMount t("tmpfs", tmp / "tmpfs", "tmpfs", 0);
    CHECK_FALSE(detect(tmp / "tmpfs", why));
    CHECK(why ==
          "`" + (tmp / "tmpfs") + "` is mounted from `tmpfs` (tmpfs), not from a block device");

    for (auto d : {"lower", "upper", "work", "ovl"})
        mkdir_p(tmp / "tmpfs" + "/" + d);
    std::string base = tmp / "tmpfs";
    ScopedMount ovl("overlay", base + "/ovl", "overlay", 0,
                    "lowerdir=" + base + "/lower,upperdir=" + base + "/upper,workdir=" + base +
                        "/work");
    CHECK_FALSE(detect(base + "/ovl", why));
    CHECK(why == "`" + base + "/ovl` is mounted from `overlay` (overlay), not from a block device");

    // A tmpfs may name any source it likes; the device number gives it away.
    mkdir_p(tmp / "liar");
    ScopedMount liar("/dev/loop0", tmp / "liar", "tmpfs", 0);
    CHECK_FALSE(detect(tmp / "liar", why));
    CHECK(why.find("`" + (tmp / "liar") +
                   "` is mounted from `/dev/loop0` but its filesystem is on 0:") == 0);
}

TEST_CASE("block: an unresolvable path throws with the path", "[rootfs][block]")
{
    auto mi = MountInfo::load();
    CHECK(error_of([&] { block_device_for("/nonexistent/urunc-rootfs", mi); }) ==
          "resolve `/nonexistent/urunc-rootfs`: No such file or directory");
}

TEST_CASE("block: sysfs tells loop, device-mapper and other devices apart", "[rootfs][block]")
{
    TempDir sys;
    mkdir_p(sys / "dev/block/253:4/dm");
    write_text(sys / "dev/block/253:4/dm/name", "containerd-pool-snap-7\n");
    mkdir_p(sys / "dev/block/259:1/loop");
    write_text(sys / "dev/block/259:1/loop/backing_file", "/var/lib/blockfile/snap 1\n");
    mkdir_p(sys / "dev/block/8:0");

    BlockDevice dm{"/dev/mapper/containerd-pool-snap-7", 253, 4, "ext2", BlockKind::other, "", ""};
    describe_from_sysfs(dm, sys.path());
    CHECK(dm.kind == BlockKind::device_mapper);
    CHECK(dm.dm_name == "containerd-pool-snap-7");
    BlockDevice loop{"/dev/loop9", 259, 1, "ext4", BlockKind::other, "", ""};
    describe_from_sysfs(loop, sys.path());
    CHECK(loop.kind == BlockKind::loop);
    CHECK(loop.loop_backing_file == "/var/lib/blockfile/snap 1");
    BlockDevice disk{"/dev/sda", 8, 0, "ext4", BlockKind::loop, "", ""};
    describe_from_sysfs(disk, sys.path());
    CHECK(disk.kind == BlockKind::other);
    CHECK(std::string(to_string(BlockKind::device_mapper)) == "device-mapper");
}

TEST_CASE("devmapper: the kernel is asked before libdevmapper", "[rootfs][devmapper]")
{
    TempDir proc;
    write_text(proc / "misc", "237 loop-control\n236 device-mapper\n");
    CHECK(kernel_has_device_mapper(proc.path()));
    write_text(proc / "misc", "237 loop-control\n");
    write_text(proc / "devices",
               "Character devices:\n  1 mem\n\nBlock devices:\n253 device-mapper\n");
    CHECK(kernel_has_device_mapper(proc.path()));
    write_text(proc / "devices", "Character devices:\n  1 mem\n\nBlock devices:\n  7 loop\n");
    CHECK_FALSE(kernel_has_device_mapper(proc.path()));
    CHECK_FALSE(kernel_has_device_mapper(proc / "absent"));
}

TEST_CASE("devmapper: no device-mapper gives one clear error and touches nothing",
          "[rootfs][devmapper]")
{
    if (kernel_has_device_mapper())
        SUCCEED("this kernel has device-mapper; the refusal path is not reachable here");
    else {
        bool had_control = path_exists("/dev/mapper/control");
        CHECK(error_of([] { dm_lineage(253, 0); }) ==
              "device-mapper is not available in this kernel");
        CHECK(path_exists("/dev/mapper/control") == had_control);
    }
}
