#include "guest_test_util.hpp"

using namespace guest_test;

TEST_CASE("mewz: command line", "[guest][mewz]")
{
    const Guest &g = guest("mewz");
    GuestParams p;
    on_monitor(p, "qemu");
    CHECK(g.command_line(p).empty());
    p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
    CHECK(g.command_line(p) == "ip=10.0.0.2/24 gateway=10.0.0.1");
    p.net->mask = "255.255.0.0";
    CHECK(g.command_line(p) == "ip=10.0.0.2/16 gateway=10.0.0.1");
    p.net->mask = "";
    CHECK(g.command_line(p) == "ip=10.0.0.2/24 gateway=10.0.0.1");
}

TEST_CASE("mewz: QEMU words", "[guest][mewz]")
{
    const Guest &g = guest("mewz");
    GuestParams p;
    on_monitor(p, "qemu");
    MonitorArgs a = g.monitor_args(p);
    CHECK(a.net.empty());
    CHECK(a.other == std::vector<std::string>{"-device", "isa-debug-exit,iobase=0x501,iosize=2"});
    p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
    a = g.monitor_args(p);
    CHECK(
        a.net ==
        std::vector<std::string>{
            "-device",
            "virtio-net-pci,netdev=net0,disable-legacy=on,disable-modern=off,mac=aa:bb:cc:dd:ee:ff",
            "-netdev", "tap,script=no,downscript=no,id=net0,ifname=tap0_urunc"});
    CHECK(g.monitors() == std::vector<std::string_view>{"qemu"});
    CHECK_FALSE(g.supports_block());
    CHECK_FALSE(g.supports_fs("9pfs"));
}
