#include "guest_test_util.hpp"

using namespace guest_test;

namespace {

GuestParams base(const char *monitor = "hvt")
{
    GuestParams p;
    on_monitor(p, monitor);
    return p;
}

}  // namespace

TEST_CASE("rumprun: reference example, byte for byte", "[guest][rumprun]")
{
    GuestParams p = base();
    p.args = {"redis-server", "/data/conf/redis.conf"};
    p.env = {"PATH=/bin", "HOME=/"};
    p.net = net("10.0.0.5", "255.255.255.0", "10.0.0.1");
    p.blocks = {{"rootfs", "/dev/mapper/snap-1", "/data", "ext2"}};
    p.rootfs = RootfsKind::block;
    // Same as the reference except "mask": the real prefix (gateway inside the subnet).
    CHECK(guest("rumprun").command_line(p) ==
          R"({"cmdline":"redis-server /data/conf/redis.conf","env":"PATH=/bin","env":"HOME=/",)"
          R"("net":{"if":"ukvmif0","cloner":"True","type":"inet","method":"static",)"
          R"("addr":"10.0.0.5","mask":"24","gw":"10.0.0.1"},)"
          R"("blk":{"source":"etfs","path":"/dev/ld0a","fstype":"blk","mountpoint":"/data"}})");
}

TEST_CASE("rumprun: upstream golden vectors", "[guest][rumprun]")
{
    const Guest &g = guest("rumprun");
    SECTION("command only")
    {
        GuestParams p = base();
        p.args = {"/bin/app"};
        const std::string line = g.command_line(p);
        CHECK(line == R"({"cmdline":"/bin/app"})");
        CHECK(line.find("\"net\"") == std::string::npos);
        CHECK(line.find("\"blk\"") == std::string::npos);
    }
    SECTION("one env member per variable")
    {
        GuestParams p = base();
        p.args = {"app"};
        p.env = {"FOO=bar", "BAZ=qux"};
        CHECK(g.command_line(p) == R"({"cmdline":"app","env":"FOO=bar","env":"BAZ=qux"})");
    }
    SECTION("JSON escaping without HTML escaping")
    {
        GuestParams p = base();
        p.args = {"sh", "-c", "a && b < \"c\""};
        CHECK(g.command_line(p) == R"({"cmdline":"sh -c a && b < \"c\""})");
    }
    SECTION("hvt/spt monitor words")
    {
        for (const char *m : {"hvt", "spt"}) {
            GuestParams p = base(m);
            p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
            p.net->tap = "tap0";
            p.blocks = {{"rootfs", "/dev/vda", "/data", "ext2"},
                        {"vol1", "/dev/vdb", "/x", "ext2"}};
            MonitorArgs a = g.monitor_args(p);
            CHECK(a.net ==
                  std::vector<std::string>{"--net:tap=tap0", "--net-mac:tap=aa:bb:cc:dd:ee:ff"});
            REQUIRE(a.blocks.size() == 1);
            CHECK(a.blocks[0].id == "rootfs");
            CHECK(a.blocks[0].path == "/dev/vda");
            CHECK(a.blocks[0].exact.empty());
        }
    }
    SECTION("no tap, no net words; qemu gets nothing")
    {
        GuestParams p = base();
        CHECK(g.monitor_args(p).net.empty());
        CHECK(g.monitor_args(p).blocks.empty());
        p = base("qemu");
        p.net = net("10.0.0.2", "255.255.255.0", "10.0.0.1");
        p.blocks = {{"rootfs", "/dev/vda", "/data", "ext2"}};
        CHECK(g.monitor_args(p).net.empty());
        CHECK(g.monitor_args(p).blocks.empty());
    }
}

TEST_CASE("rumprun: deliberate - real prefix, /1 only for an off-subnet gateway",
          "[guest][rumprun][deviation]")
{
    const Guest &g = guest("rumprun");
    auto mask_of = [&](const char *ip, const char *mask, const char *gw) {
        GuestParams p = base();
        p.net = net(ip, mask, gw);
        std::string line = g.command_line(p);
        auto at = line.find(R"("mask":")");
        REQUIRE(at != std::string::npos);
        at += 8;
        return line.substr(at, line.find('"', at) - at);
    };
    CHECK(mask_of("10.0.0.5", "255.255.255.0", "10.0.0.1") == "24");
    CHECK(mask_of("10.244.1.3", "255.255.0.0", "10.244.0.1") == "16");
    CHECK(mask_of("192.168.1.9", "255.255.255.252", "192.168.1.10") == "30");
    // gateway outside the subnet (e.g. /32 pod address): upstream's inclusive /1
    CHECK(mask_of("10.0.0.5", "255.255.255.255", "10.0.0.1") == "1");
    CHECK(mask_of("10.0.0.5", "255.255.255.0", "192.168.1.1") == "1");
    // no mask: upstream's "no network" test
    GuestParams p = base();
    p.net = net("10.0.0.5", "", "10.0.0.1");
    CHECK(g.command_line(p).find("\"net\"") == std::string::npos);
}

TEST_CASE("rumprun: capabilities and monitors", "[guest][rumprun]")
{
    const Guest &g = guest("rumprun");
    CHECK(g.supports_block());
    CHECK(g.supports_fs("ext2"));
    CHECK_FALSE(g.supports_fs("ext4"));
    CHECK(g.monitors() == std::vector<std::string_view>{"hvt", "spt"});
}
