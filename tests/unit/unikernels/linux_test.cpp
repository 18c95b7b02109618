#include "guest_test_util.hpp"

#include "base/error.hpp"

using namespace guest_test;

namespace {

GuestParams base(const char *monitor = "qemu")
{
    GuestParams p;
    on_monitor(p, monitor);
    p.args = {"/init", "arg1"};
    return p;
}

bool contains(const std::string &s, std::string_view what)
{
    return s.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("linux: upstream golden command lines", "[guest][linux]")
{
    const Guest &g = guest("linux");
    SECTION("block rootfs on qemu, byte for byte")
    {
        GuestParams p = base();
        p.rootfs = RootfsKind::block;
        CHECK(g.command_line(p) == "panic=-1 console=ttyS0 root=/dev/vda rw init=/init -- arg1");
    }
    SECTION("network")
    {
        GuestParams p = base();
        p.net = net("10.0.0.5", "255.255.255.0", "10.0.0.1");
        const std::string line = g.command_line(p);
        CHECK(contains(line, " ip=10.0.0.5::10.0.0.1:255.255.255.0:urunc:eth0:off "));
        CHECK_FALSE(contains(line, "URUNIT_DEFROUTE"));
    }
    SECTION("gateway outside the subnet")
    {
        GuestParams p = base();
        p.net = net("10.0.0.5", "255.255.255.0", "192.168.1.1");
        CHECK(g.command_line(p) == "panic=-1 console=ttyS0 "
                                   "ip=10.0.0.5::192.168.1.1:255.255.255.0:urunc:eth0:off "
                                   "URUNIT_DEFROUTE=1 init=/init -- arg1");
    }
    SECTION("deliberate: no gateway, no URUNIT_DEFROUTE")
    {
        GuestParams p = base();
        p.net = net("10.0.0.5", "255.255.255.0", "");
        CHECK(
            g.command_line(p) ==
            "panic=-1 console=ttyS0 ip=10.0.0.5:::255.255.255.0:urunc:eth0:off init=/init -- arg1");
    }
    SECTION("arguments with blanks are quoted for urunit")
    {
        GuestParams p = base();
        p.args = {"/bin/sh", "-c", " echo hi there "};
        CHECK(g.command_line(p) == "panic=-1 console=ttyS0 init=/bin/sh -- -c 'echo hi there'");
    }
    SECTION("no init")
    {
        GuestParams p = base();
        p.args = {};
        CHECK_THROWS_WITH(g.command_line(p),
                          "linux: no init was specified (process.args is empty)");
    }
    SECTION("rootfs kinds")
    {
        GuestParams p = base();
        p.args = {"/sbin/init"};
        p.rootfs = RootfsKind::initrd;
        // upstream's " -- " leaves a trailing blank when there are no arguments
        CHECK(g.command_line(p) ==
              "panic=-1 console=ttyS0 root=/dev/ram0 rw rdinit=/sbin/init -- ");
        p.rootfs = RootfsKind::ninep;
        CHECK(contains(g.command_line(p),
                       " root=fs0 rw rootfstype=9p rootflags=trans=virtio,version=9p2000.L,"
                       "msize=5000000,cache=mmap,posixacl init=/sbin/init"));
    }
    SECTION("environment as raw words without urunit")
    {
        GuestParams p = base();
        p.env = {"FOO=bar", "BAZ=qux"};
        CHECK(g.command_line(p) == "panic=-1 console=ttyS0 FOO=bar BAZ=qux init=/init -- arg1");
    }
    SECTION("console: ttyAMA0 only for qemu on aarch64")
    {
        GuestParams p = base();
        p.arch = "aarch64";
        CHECK(contains(g.command_line(p), "console=ttyAMA0"));
        on_monitor(p, "firecracker");
        CHECK(contains(g.command_line(p), "console=ttyS0"));
    }
}

TEST_CASE("linux: urunit config blob", "[guest][linux]")
{
    const Guest &g = guest("linux");
    GuestParams p = base();
    p.args = {"/urunit", "/bin/app", "x y"};
    p.env = {"FOO=bar", "BAZ=qux"};
    p.uid = 1000;
    p.gid = 100;
    p.cwd = "/app";
    p.rootfs = RootfsKind::block;
    p.blocks = {{"rootfs", "/dev/mapper/snap", "/", "ext4"}, {"data", "/d", "/mnt/data", "ext4"}};
    const std::string blob =
        "UES\nFOO=bar\nBAZ=qux\nUEE\nUCS\nUID:1000\nGID:100\nWD:/app\nUCE\nUBS\nID:data\nMP:/mnt/data\nUBE\n";

    SECTION("block rootfs: blob as an extra initrd, env off the command line")
    {
        CHECK(g.command_line(p) ==
              "panic=-1 console=ttyS0 root=/dev/vda rw retain_initrd "
              "URUNIT_CONFIG=/sys/firmware/initrd init=/urunit -- /bin/app 'x y'");
        MonitorArgs a = g.monitor_args(p);
        CHECK(a.extra_initrd == "/urunit.conf");
        REQUIRE(a.files.size() == 1);
        CHECK(a.files[0].first == "/urunit.conf");
        CHECK(a.files[0].second == blob);
        CHECK(a.initrd_files.empty());
    }
    SECTION("initrd rootfs: blob appended into the initrd, no extra initrd")
    {
        p.rootfs = RootfsKind::initrd;
        p.blocks = {};
        CHECK(g.command_line(p) == "panic=-1 console=ttyS0 root=/dev/ram0 rw "
                                   "URUNIT_CONFIG=/urunit.conf rdinit=/urunit -- /bin/app 'x y'");
        MonitorArgs a = g.monitor_args(p);
        CHECK(a.extra_initrd.empty());
        CHECK(a.files.empty());
        REQUIRE(a.initrd_files.size() == 1);
        CHECK(a.initrd_files[0].first == "/urunit.conf");
        CHECK(a.initrd_files[0].second ==
              "UES\nFOO=bar\nBAZ=qux\nUEE\nUCS\nUID:1000\nGID:100\nWD:/app\nUCE\nUBS\nUBE\n");
    }
    SECTION("empty env and firecracker drive ids")
    {
        p.env = {};
        on_monitor(p, "firecracker");
        MonitorArgs a = g.monitor_args(p);
        REQUIRE(a.files.size() == 1);
        CHECK(
            a.files[0].second ==
            "UES\nUEE\nUCS\nUID:1000\nGID:100\nWD:/app\nUCE\nUBS\nID:FCdata\nMP:/mnt/data\nUBE\n");
        CHECK(a.extra_initrd == "/urunit.conf");
    }
    SECTION("deliberate: cloud-hypervisor gets the blob too")
    {
        on_monitor(p, "cloud-hypervisor");
        MonitorArgs a = g.monitor_args(p);
        CHECK(a.extra_initrd == "/urunit.conf");
        REQUIRE(a.files.size() == 1);
        CHECK(a.files[0].second == blob);
    }
    SECTION("no urunit: no blob")
    {
        p.args = {"/sbin/init"};
        MonitorArgs a = g.monitor_args(p);
        CHECK(a.files.empty());
        CHECK(a.extra_initrd.empty());
    }
}

TEST_CASE("linux: block devices per monitor", "[guest][linux]")
{
    const Guest &g = guest("linux");
    GuestParams p = base();
    p.rootfs = RootfsKind::block;
    p.blocks = {{"rootfs", "/dev/dm-3", "/", "ext4"}, {"data", "/d", "/mnt", "ext4"}};
    SECTION("qemu: exact words for every block, rootfs first")
    {
        MonitorArgs a = g.monitor_args(p);
        REQUIRE(a.blocks.size() == 2);
        CHECK(a.blocks[0].exact ==
              std::vector<std::string>{"-device", "virtio-blk-pci,serial=rootfs,drive=rootfs",
                                       "-drive", "format=raw,if=none,id=rootfs,file=/dev/dm-3"});
        CHECK(a.blocks[1].exact ==
              std::vector<std::string>{"-device", "virtio-blk-pci,serial=data,drive=data", "-drive",
                                       "format=raw,if=none,id=data,file=/d"});
        CHECK(a.other == std::vector<std::string>{"-nodefaults"});
    }
    SECTION("deliberate: firecracker keeps `rootfs`, prefixes the others")
    {
        on_monitor(p, "firecracker");
        MonitorArgs a = g.monitor_args(p);
        REQUIRE(a.blocks.size() == 2);
        CHECK(a.blocks[0].id == "rootfs");
        CHECK(a.blocks[0].path == "/dev/dm-3");
        CHECK(a.blocks[1].id == "FCdata");
        CHECK(a.blocks[1].path == "/d");
        CHECK(a.other.empty());
    }
    SECTION("deliberate: cloud-hypervisor gets id + path")
    {
        on_monitor(p, "cloud-hypervisor");
        MonitorArgs a = g.monitor_args(p);
        REQUIRE(a.blocks.size() == 2);
        CHECK(a.blocks[0].id == "rootfs");
        CHECK(a.blocks[1].id == "data");
        CHECK(a.blocks[1].path == "/d");
        CHECK(a.net.empty());
    }
}

TEST_CASE("linux: capabilities and monitors", "[guest][linux]")
{
    const Guest &g = guest("linux");
    CHECK(g.supports_block());
    for (const char *fs : {"ext2", "ext3", "ext4", "9pfs", "virtiofs"})
        CHECK(g.supports_fs(fs));
    CHECK_FALSE(g.supports_fs("xfs"));
    CHECK(g.monitors() == std::vector<std::string_view>{"qemu", "firecracker", "cloud-hypervisor"});
}

TEST_CASE("linux: root.readonly mounts the root `ro` and makes its qemu drive read-only",
          "[guest][linux]")
{
    const Guest &g = guest("linux");
    GuestParams p = base();
    p.readonly_rootfs = true;
    p.rootfs = RootfsKind::block;
    p.blocks = {{"rootfs", "/dev/loop3", "/", "ext4", true}};
    CHECK(g.command_line(p) == "panic=-1 console=ttyS0 root=/dev/vda ro init=/init -- arg1");
    const auto m = g.monitor_args(p);
    REQUIRE(m.blocks.size() == 1);
    CHECK(m.blocks[0].exact.back() == "format=raw,if=none,id=rootfs,file=/dev/loop3,readonly=on");
    p.rootfs = RootfsKind::ninep;
    CHECK(contains(g.command_line(p), " root=fs0 ro rootfstype=9p "));
    p.virtiofs_rootfs = true;  // the share is virtiofs: no 9p rootflags
    CHECK(g.command_line(p) ==
          "panic=-1 console=ttyS0 root=fs0 ro rootfstype=virtiofs init=/init -- arg1");
    p.readonly_rootfs = false;
    CHECK(contains(g.command_line(p), " root=fs0 rw rootfstype=virtiofs "));
    p.virtiofs_rootfs = false;
    p.readonly_rootfs = true;
    p.rootfs = RootfsKind::initrd;  // RAM: nothing to protect, the guest needs it writable
    CHECK(contains(g.command_line(p), " root=/dev/ram0 rw "));
}

TEST_CASE("linux: an initrd can be early userspace below a shared root; unikernels' cannot",
          "[guest][linux]")
{
    CHECK(guest("linux").initrd_mounts_shared_root());
    CHECK_FALSE(guest("unikraft").initrd_mounts_shared_root());
}
