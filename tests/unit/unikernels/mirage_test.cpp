#include "guest_test_util.hpp"

#include "base/error.hpp"

using namespace guest_test;

TEST_CASE("mirage: command line", "[guest][mirage]")
{
    const Guest &g = guest("mirage");
    GuestParams p;
    on_monitor(p, "hvt");
    SECTION("upstream golden: /28 mask")
    {
        p.net = net("10.0.0.1", "255.255.255.240", "10.0.0.14");
        CHECK(g.command_line(p) == "--ipv4=10.0.0.1/28 --ipv4-gateway=10.0.0.14 ");
    }
    SECTION("no mask: no network words, upstream spacing kept")
    {
        p.args = {"--hello=holaHola"};
        CHECK(g.command_line(p) == "  --hello=holaHola");
        p.net = net("10.0.0.1", "", "10.0.0.14");
        CHECK(g.command_line(p) == "  --hello=holaHola");
    }
    SECTION("named net device prefixes the options")
    {
        p.solo5_net_dev = "management";
        p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
        p.args = {"-l", "*:debug"};
        CHECK(g.command_line(p) ==
              "--management-ipv4=10.0.0.2/24 --management-ipv4-gateway=10.0.0.1 -l *:debug");
    }
    SECTION("invalid mask")
    {
        p.net = net("10.0.0.2", "255.0.255.0", "10.0.0.1");
        CHECK_THROWS_WITH(g.command_line(p), "mirage: invalid netmask `255.0.255.0`");
    }
}

TEST_CASE("mirage: monitor words", "[guest][mirage]")
{
    const Guest &g = guest("mirage");
    for (const char *m : {"hvt", "spt"}) {
        GuestParams p;
        on_monitor(p, m);
        p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
        p.blocks = {{"annot_vol", "/data/disk.img", "/data", ""}};
        MonitorArgs a = g.monitor_args(p);
        CHECK(a.net == std::vector<std::string>{"--net:service=tap0_urunc",
                                                "--net-mac:service=aa:bb:cc:dd:ee:ff"});
        REQUIRE(a.blocks.size() == 1);
        CHECK(a.blocks[0].id == "storage");
        CHECK(a.blocks[0].path == "/data/disk.img");

        p.solo5_net_dev = "mgmt";
        p.solo5_blk_dev = "disk0";
        a = g.monitor_args(p);
        CHECK(a.net == std::vector<std::string>{"--net:mgmt=tap0_urunc",
                                                "--net-mac:mgmt=aa:bb:cc:dd:ee:ff"});
        CHECK(a.blocks[0].id == "disk0");
    }
    GuestParams p;
    on_monitor(p, "qemu");
    p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
    p.blocks = {{"annot_vol", "/data/disk.img", "/data", ""}};
    MonitorArgs a = g.monitor_args(p);
    CHECK(a.net.empty());
    CHECK(a.blocks.empty());
    CHECK(a.other.empty());
}

TEST_CASE("mirage: capabilities and monitors", "[guest][mirage]")
{
    const Guest &g = guest("mirage");
    CHECK(g.supports_block());
    CHECK_FALSE(g.supports_fs("ext2"));
    CHECK_FALSE(g.supports_fs("9pfs"));
    CHECK(g.monitors() == std::vector<std::string_view>{"hvt", "spt", "qemu"});
}
