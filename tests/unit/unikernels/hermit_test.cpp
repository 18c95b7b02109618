#include "guest_test_util.hpp"

using namespace guest_test;

TEST_CASE("hermit: upstream golden command lines", "[guest][hermit]")
{
    const Guest &g = guest("hermit");
    GuestParams p;
    on_monitor(p, "qemu");
    CHECK(g.command_line(p).empty());
    p.args = {"/bin/run", "arg1", "arg2"};
    CHECK(g.command_line(p) == "/bin/run arg1 arg2");
    p.args = {"app"};
    p.net = net("10.0.0.5", "255.255.255.0", "10.0.0.1");
    CHECK(g.command_line(p) == "ip=10.0.0.5/24 gateway=10.0.0.1 -- app");
    p.args = {};
    p.net = net("10.0.0.2", "", "");
    CHECK(g.command_line(p) == "ip=10.0.0.2/24");
    p.args = {"  "};  // a blank command adds no separator
    CHECK(g.command_line(p) == "ip=10.0.0.2/24");
}

TEST_CASE("hermit: QEMU words", "[guest][hermit]")
{
    const Guest &g = guest("hermit");
    GuestParams p;
    on_monitor(p, "qemu");
    p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
    MonitorArgs a = g.monitor_args(p);
    CHECK(a.net == std::vector<std::string>{
                       "-netdev", "tap,id=net0,ifname=tap0_urunc,script=no,downscript=no",
                       "-device",
                       "virtio-net-pci,netdev=net0,disable-legacy=on,mac=aa:bb:cc:dd:ee:ff"});
    CHECK(a.other.empty());  // -no-reboot comes from our QEMU itself
    p.arch = "aarch64";
    p.net->mac = "";
    a = g.monitor_args(p);
    CHECK(a.net[3] == "virtio-net-device,netdev=net0");
    CHECK(g.monitors() == std::vector<std::string_view>{"qemu"});
    CHECK(g.supports_fs("initrd"));
    CHECK_FALSE(g.supports_fs("9pfs"));
    CHECK_FALSE(g.supports_block());
}
