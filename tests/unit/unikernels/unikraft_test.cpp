#include "guest_test_util.hpp"

#include "base/error.hpp"

using namespace guest_test;

namespace {

GuestParams base(std::string version = "0.17.0")
{
    GuestParams p;
    on_monitor(p, "qemu");
    p.version = std::move(version);
    return p;
}

}  // namespace

TEST_CASE("unikraft: reference worked example, byte for byte", "[guest][unikraft]")
{
    GuestParams p = base("");
    p.env = {"PATH=/usr/bin", "FOO=bar"};
    p.net = net("10.0.0.5", "255.255.255.0", "10.0.0.1");
    p.rootfs = RootfsKind::initrd;
    p.args = {"/nginx", "-c", "/nginx/conf/nginx.conf"};
    CHECK(guest("unikraft").command_line(p) ==
          "Unikraft  env.vars=[ PATH=/usr/bin FOO=bar ] netdev.ip=10.0.0.5/24:10.0.0.1:8.8.8.8   "
          "vfs.fstab=[ \"initrd0:/:extract:::\" ] -- /nginx -c /nginx/conf/nginx.conf");
}

TEST_CASE("unikraft: upstream golden vectors", "[guest][unikraft]")
{
    const Guest &g = guest("unikraft");
    SECTION("initrd fstab, upstream printf spacing kept verbatim")
    {
        GuestParams p = base();
        p.rootfs = RootfsKind::initrd;
        p.args = {"app.run"};
        const std::string line = g.command_line(p);
        CHECK(line == "Unikraft      vfs.fstab=[ \"initrd0:/:extract:::\" ] -- app.run");
        CHECK(normalise(line) == "Unikraft vfs.fstab=[ \"initrd0:/:extract:::\" ] -- app.run");
    }
    SECTION("environment")
    {
        GuestParams p = base();
        p.env = {"ENV1=val1", "ENV2=val2"};
        const std::string line = g.command_line(p);
        CHECK(line == "Unikraft  env.vars=[ ENV1=val1 ENV2=val2 ]     -- ");
        CHECK(normalise(line) == "Unikraft env.vars=[ ENV1=val1 ENV2=val2 ] --");
    }
    SECTION("0.15.0 uses the compat form and drops the environment")
    {
        GuestParams p = base("0.15.0");
        p.env = {"A=1"};
        p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
        p.rootfs = RootfsKind::initrd;
        CHECK(g.command_line(p) ==
              "Unikraft   netdev.ipv4_addr=10.0.0.2 netdev.ipv4_gw_addr=10.0.0.1 "
              "netdev.ipv4_subnet_mask=255.255.255.0 vfs.rootfs=initrd -- ");
    }
    SECTION("0.16.1 with 9pfs uses the current form")
    {
        GuestParams p = base("0.16.1");
        p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
        p.rootfs = RootfsKind::ninep;
        p.args = {"hello"};
        CHECK(
            normalise(g.command_line(p)) ==
            "Unikraft netdev.ip=10.0.0.2/24:10.0.0.1:8.8.8.8 vfs.fstab=[ \"fs0:/:9pfs:::\" ] -- hello");
    }
    SECTION("the upstream subnet-mask table")
    {
        struct Case {
            const char *mask, *ip, *gw, *want;
        } cases[] = {
            {"255.255.255.240", "10.0.0.1", "10.0.0.14", "netdev.ip=10.0.0.1/28:10.0.0.14:8.8.8.8"},
            {"255.255.0.0", "10.244.1.3", "10.244.0.1",
             "netdev.ip=10.244.1.3/16:10.244.0.1:8.8.8.8"},
            {"255.255.255.0", "192.168.1.5", "192.168.1.1",
             "netdev.ip=192.168.1.5/24:192.168.1.1:8.8.8.8"},
            {"255.255.255.128", "10.0.0.2", "10.0.0.1", "netdev.ip=10.0.0.2/25:10.0.0.1:8.8.8.8"},
        };
        for (const auto &c : cases) {
            GuestParams p = base();
            p.net = net(c.ip, c.mask, c.gw);
            CHECK(normalise(g.command_line(p)) == std::string("Unikraft ") + c.want + " --");
        }
    }
}

TEST_CASE("unikraft: version switch at 0.16.1", "[guest][unikraft]")
{
    const Guest &g = guest("unikraft");
    auto compat = [&](const char *version) {
        GuestParams p = base(version);
        p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
        return g.command_line(p).find("netdev.ipv4_addr=") != std::string::npos;
    };
    CHECK(compat("0.15.0"));
    CHECK(compat("0.16.0"));
    CHECK(compat("0.16"));
    CHECK(compat("v0.15.2"));
    CHECK(compat("0.16.1-rc1"));  // a pre-release sorts before its release
    CHECK_FALSE(compat("0.16.1"));
    CHECK_FALSE(compat("0.16.1+build5"));
    CHECK_FALSE(compat("0.17.0"));
    CHECK_FALSE(compat("1.0"));
    CHECK_FALSE(compat(""));
    CHECK_FALSE(compat("not-a-version"));

    GuestParams p = base("");
    REQUIRE(g.warnings(p).size() == 1);
    CHECK(g.warnings(p)[0].find("not set") != std::string::npos);
    p.version = "garbage";
    REQUIRE(g.warnings(p).size() == 1);
    CHECK(g.warnings(p)[0].find("`garbage`") != std::string::npos);
    p.version = "0.15.0";
    CHECK(g.warnings(p).empty());
}

TEST_CASE("unikraft: deliberate - no network, no netdev words", "[guest][unikraft][deviation]")
{
    const Guest &g = guest("unikraft");
    for (const char *version : {"", "0.17.0", "0.15.0"}) {
        GuestParams p = base(version);
        p.args = {"hello"};
        CHECK(g.command_line(p).find("netdev") == std::string::npos);
        // a tap without an address is still "no network" for the guest
        p.net = net("", "", "");
        CHECK(g.command_line(p).find("netdev") == std::string::npos);
        CHECK(g.command_line(p).find("8.8.8.8") == std::string::npos);
    }
    GuestParams p = base();
    p.args = {"hello"};
    CHECK(g.command_line(p) == "Unikraft       -- hello");
}

TEST_CASE("unikraft: deliberate - real prefix, /24 only without a mask, DNS from Net",
          "[guest][unikraft][deviation]")
{
    const Guest &g = guest("unikraft");
    GuestParams p = base();
    p.net = net("10.1.2.3", "255.255.0.0", "10.1.0.1");
    CHECK(normalise(g.command_line(p)) == "Unikraft netdev.ip=10.1.2.3/16:10.1.0.1:8.8.8.8 --");
    p.net->mask = "";
    CHECK(normalise(g.command_line(p)) == "Unikraft netdev.ip=10.1.2.3/24:10.1.0.1:8.8.8.8 --");
    p.net->mask = "255.255.255";
    CHECK_THROWS_WITH(g.command_line(p), "unikraft: invalid netmask `255.255.255`");
    p.net->mask = "255.0.255.0";
    CHECK_THROWS_AS(g.command_line(p), urunc::Error);
    p.net->mask = "255.255.255.0";
    p.net->dns = "10.96.0.10";
    CHECK(normalise(g.command_line(p)) == "Unikraft netdev.ip=10.1.2.3/24:10.1.0.1:10.96.0.10 --");
}

TEST_CASE("unikraft: capabilities, monitors, arm64 console", "[guest][unikraft]")
{
    const Guest &g = guest("unikraft");
    CHECK(g.supports_fs("9pfs"));
    CHECK_FALSE(g.supports_fs("ext2"));
    CHECK_FALSE(g.supports_fs("virtiofs"));
    CHECK_FALSE(g.supports_block());
    CHECK(g.monitors() == std::vector<std::string_view>{"qemu", "firecracker"});
    for (const char *m : {"qemu", "firecracker"}) {
        GuestParams p = base();
        on_monitor(p, m);
        p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
        MonitorArgs a = g.monitor_args(p);
        CHECK(a.net.empty());
        CHECK(a.blocks.empty());
        CHECK(a.other.empty());
        CHECK(a.extra_initrd.empty());
        CHECK(a.files.empty());
    }
    GuestParams p = base();
    p.arch = "aarch64";
    CHECK(g.command_line(p) == "Unikraft console=ttyS0      -- ");
}
