// Guest network against real kernel objects, each case in its own throwaway netns.
#include "net/guest_network.hpp"
#include "net/netlink.hpp"
#include "net/tc.hpp"

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"
#include "scratch_netns.hpp"

#include "../privileged.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

using namespace urunc::net;
using urunc::net::test::Facts;
using urunc::net::test::in_scratch_netns;
using urunc::net::test::sh;
using urunc::net::test::slurp;

namespace {

bool can_run()
{
    REQUIRE_PRIVILEGED("network namespaces, taps");
    INFO("/dev/net/tun must be usable");
    REQUIRE(::access("/dev/net/tun", R_OK | W_OK) == 0);
    return true;
}

// A CNI-like container interface v0 (peer v1), MTU 1400, 10.200.0.2/24. Before it, an up
// interface with an address but no default route, and a decoy whose name contains "tap".
void make_container_iface(bool default_route)
{
    sh("ip link add d0 type veth peer name d1 && ip link set d0 up && ip link set d1 up"
       " && ip addr add 10.201.0.2/24 dev d0");
    sh("ip link add v0 mtu 1400 type veth peer name v1 && ip link set v1 up && ip link set v0 up"
       " && ip addr add 10.200.0.2/24 dev v0");
    sh("ip link add mytap0 type veth peer name mytap1 && ip link set mytap0 up");
    if (default_route)
        sh("ip route add default via 10.200.0.1 dev v0");
}

// Replace /etc/resolv.conf (private mount namespace of the child only).
void fake_resolv_conf(const std::string &text)
{
    char path[] = "/tmp/urunc-net-test-resolv.XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0)
        throw urunc::sys_error("mkstemp");
    urunc::write_all(fd, text, path);
    ::close(fd);
    int rc = ::mount(path, "/etc/resolv.conf", nullptr, MS_BIND, nullptr);
    int err = errno;
    ::unlink(path);
    if (rc < 0)
        throw urunc::sys_error("bind resolv.conf", err);
}

// The tap name of test container "c1" (and of "c2").
const std::string tap_c1 = guest_tap_name("c1");
const std::string tap_c2 = guest_tap_name("c2");

bool link_exists(const std::string &name) { return urunc::path_exists("/sys/class/net/" + name); }

void record_tap(Facts &f, const std::string &prefix, const std::string &name = tap_c1)
{
    const std::string sys = "/sys/class/net/" + name + "/";
    f[prefix + "exists"] = urunc::path_exists(sys) ? "yes" : "no";
    if (f[prefix + "exists"] == "no")
        return;
    f[prefix + "owner"] = slurp(sys + "owner");
    f[prefix + "group"] = slurp(sys + "group");
    f[prefix + "mtu"] = slurp(sys + "mtu");
    f[prefix + "up"] = (std::strtoul(slurp(sys + "flags").c_str(), nullptr, 16) & 1) ? "yes" : "no";
    f[prefix + "details"] = sh("ip -d link show " + name);
    f[prefix + "qdisc"] = sh("tc qdisc show dev " + name);
    f[prefix + "filter"] = sh("tc filter show dev " + name + " ingress");
}

}  // namespace

// Facts::operator[] would insert the key it looks for; check without touching the map.
#define REQUIRE_NO_CHILD_ERROR(f)                                                                  \
    do {                                                                                           \
        auto ex_ = (f).find("exception");                                                          \
        INFO((ex_ == (f).end() ? std::string() : ex_->second));                                    \
        REQUIRE(ex_ == (f).end());                                                                 \
        REQUIRE((f).count("status") == 0);                                                         \
    } while (0)

TEST_CASE("guest network mirrors the container interface through the container's own tap",
          "[net][privileged]")
{
    if (!can_run())
        return;
    Facts f = in_scratch_netns([](Facts &f) {
        make_container_iface(true);
        fake_resolv_conf("# test\nnameserver fd00::53\n"
                         "nameserver 10.200.0.53\nnameserver 10.200.0.54\n");
        auto g = setup_guest_network(1000, 1000, "c1");
        f["has_value"] = g ? "yes" : "no";
        if (!g)
            return;
        f["tap"] = g->tap;
        f["ip"] = g->ip;
        f["mask"] = g->mask;
        f["gateway"] = g->gateway;
        f["mac"] = g->mac;
        f["expected_mac"] = slurp("/sys/class/net/v0/address");
        f["mtu"] = std::to_string(g->mtu);
        f["dns"] = g->dns;
        f["iface"] = g->container_iface;
        record_tap(f, "tap.");
        f["v0.qdisc"] = sh("tc qdisc show dev v0");
        f["v0.filter"] = sh("tc filter show dev v0 ingress");
        NlSocket s;
        f["v0.targets"] =
            std::to_string(ingress_redirect_targets(s, find_link(s, "v0")->index).size());
    });
    REQUIRE_NO_CHILD_ERROR(f);
    REQUIRE(f["has_value"] == "yes");
    CHECK(f["tap"] == tap_c1);
    CHECK(is_urunc_tap_name(f["tap"]));
    CHECK(f["iface"] == "v0");
    CHECK(f["ip"] == "10.200.0.2");
    CHECK(f["mask"] == "255.255.255.0");
    CHECK(f["gateway"] == "10.200.0.1");
    CHECK(f["mac"] == f["expected_mac"]);
    CHECK(f["mac"].size() == 17);
    CHECK(f["mtu"] == "1400");
    CHECK(f["dns"] == "10.200.0.53");

    CHECK(f["tap.exists"] == "yes");
    CHECK(f["tap.up"] == "yes");
    CHECK(f["tap.owner"] == "1000");
    CHECK(f["tap.group"] == "1000");
    CHECK(f["tap.mtu"] == "1400");
    INFO(f["tap.details"]);
    CHECK(f["tap.details"].find("tun type tap pi off vnet_hdr on persist on") != std::string::npos);

    INFO(f["tap.qdisc"] << "\n" << f["v0.qdisc"]);
    CHECK(f["tap.qdisc"].find("qdisc ingress ffff:") != std::string::npos);
    CHECK(f["v0.qdisc"].find("qdisc ingress ffff:") != std::string::npos);
    INFO(f["tap.filter"] << "\n" << f["v0.filter"]);
    CHECK(f["v0.filter"].find("protocol all") != std::string::npos);
    CHECK(f["v0.filter"].find("match 00000000/00000000 at 0") != std::string::npos);
    CHECK(f["v0.filter"].find("mirred (Egress Redirect to device " + tap_c1 + ") stolen") !=
          std::string::npos);
    CHECK(f["tap.filter"].find("match 00000000/00000000 at 0") != std::string::npos);
    CHECK(f["tap.filter"].find("mirred (Egress Redirect to device v0) stolen") !=
          std::string::npos);
    CHECK(f["v0.targets"] == "1");
}

TEST_CASE("a second guest takes the next free container interface; a third is refused",
          "[net][privileged]")
{
    if (!can_run())
        return;
    Facts f = in_scratch_netns([](Facts &f) {
        make_container_iface(true);
        // A second CNI-like interface with its own subnet and a (less preferred) default route.
        sh("ip link add w0 type veth peer name w1 && ip link set w1 up && ip link set w0 up"
           " && ip addr add 10.202.0.2/24 dev w0 && ip route add default via 10.202.0.1 dev w0 metric 200");
        auto g1 = setup_guest_network(0, 0, "c1");
        auto g2 = setup_guest_network(0, 0, "c2");
        f["g1"] = g1->container_iface + " " + g1->tap + " " + g1->ip;
        f["g2"] = g2->container_iface + " " + g2->tap + " " + g2->ip + " " + g2->gateway;
        try {
            setup_guest_network(0, 0, "c3");
            f["third"] = "succeeded";
        } catch (const urunc::Error &e) {
            f["third"] = e.what();
            f["errno"] = std::to_string(e.code());
        }
        f["c3.tap"] = link_exists(guest_tap_name("c3")) ? "yes" : "no";
        f["v0.filter"] = sh("tc filter show dev v0 ingress");
        f["w0.filter"] = sh("tc filter show dev w0 ingress");
        // Deleting the first guest's plumbing leaves the second's alone, and frees v0.
        f["teardown"] = teardown_guest_network(g1->tap, g1->container_iface);
        f["tap1"] = link_exists(g1->tap) ? "yes" : "no";
        f["tap2"] = link_exists(g2->tap) ? "yes" : "no";
        f["w0.after"] = sh("tc filter show dev w0 ingress");
        auto g3 = setup_guest_network(0, 0, "c3");
        f["g3"] = g3->container_iface;
    });
    REQUIRE_NO_CHILD_ERROR(f);
    CHECK(tap_c1 != tap_c2);
    CHECK(f["g1"] == "v0 " + tap_c1 + " 10.200.0.2");
    CHECK(f["g2"] == "w0 " + tap_c2 + " 10.202.0.2 10.202.0.1");
    INFO(f["third"]);
    CHECK(f["third"] == "set up guest network: no free container interface (one guest per "
                        "interface): `v0` carries `" +
                            tap_c1 + "`, `w0` carries `" + tap_c2 + "`");
    CHECK(f["errno"] == std::to_string(EEXIST));
    CHECK(f["c3.tap"] == "no");
    CHECK(f["v0.filter"].find("to device " + tap_c1) != std::string::npos);
    CHECK(f["w0.filter"].find("to device " + tap_c2) != std::string::npos);
    CHECK(f["teardown"] == "");
    CHECK(f["tap1"] == "no");
    CHECK(f["tap2"] == "yes");
    CHECK(f["w0.after"] == f["w0.filter"]);
    CHECK(f["g3"] == "v0");
}

TEST_CASE("a tap name already taken in the namespace: the next number is used", "[net][privileged]")
{
    if (!can_run())
        return;
    Facts f = in_scratch_netns([](Facts &f) {
        make_container_iface(true);
        // Not a tap at all, just a link holding the name (a veth's peer moved in, say).
        sh("ip link add " + tap_c1 + " type veth peer name zz1");
        auto g = setup_guest_network(0, 0, "c1");
        f["tap"] = g->tap;
        f["details"] = sh("ip -d link show " + g->tap);
    });
    REQUIRE_NO_CHILD_ERROR(f);
    CHECK(f["tap"] == guest_tap_name("c1", 1));
    CHECK(f["details"].find("tun type tap") != std::string::npos);
}

TEST_CASE("no default route means no guest network, and nothing is created", "[net][privileged]")
{
    if (!can_run())
        return;
    Facts f = in_scratch_netns([](Facts &f) {
        make_container_iface(false);
        f["has_value"] = setup_guest_network(0, 0, "c1") ? "yes" : "no";
        f["tap"] = link_exists(tap_c1) ? "yes" : "no";
        f["v0.qdisc"] = sh("tc qdisc show dev v0");
    });
    REQUIRE_NO_CHILD_ERROR(f);
    CHECK(f["has_value"] == "no");
    CHECK(f["tap"] == "no");
    CHECK(f["v0.qdisc"].find("ingress") == std::string::npos);
}

TEST_CASE("a failed setup removes the tap it created", "[net][privileged]")
{
    if (!can_run())
        return;
    Facts f = in_scratch_netns([](Facts &f) {
        make_container_iface(true);
        // Someone else's ingress qdisc on the container interface: ours cannot be added.
        sh("tc qdisc add dev v0 ingress");
        try {
            setup_guest_network(0, 0, "c1");
            f["setup"] = "succeeded";
        } catch (const urunc::Error &e) {
            f["setup"] = e.what();
        }
        f["tap"] = link_exists(tap_c1) ? "yes" : "no";
        f["v0.qdisc"] = sh("tc qdisc show dev v0");
    });
    REQUIRE_NO_CHILD_ERROR(f);
    CHECK(f["setup"] == "set up guest network: add ingress qdisc on `v0`: File exists");
    CHECK(f["tap"] == "no");
    // The pre-existing qdisc is not ours to remove.
    CHECK(f["v0.qdisc"].find("qdisc ingress ffff:") != std::string::npos);
}

TEST_CASE("teardown removes our tap and qdisc, and a new guest can follow", "[net][privileged]")
{
    if (!can_run())
        return;
    Facts f = in_scratch_netns([](Facts &f) {
        make_container_iface(true);
        auto g = setup_guest_network(0, 0, "c1");
        // Another container's tap in a shared netns (upstream #962 deleted it too).
        sh("ip tuntap add dev tap1_urunc mode tap");
        f["teardown"] = teardown_guest_network(g->tap, g->container_iface);
        f["tap0"] = link_exists(tap_c1) ? "yes" : "no";
        f["tap1"] = urunc::path_exists("/sys/class/net/tap1_urunc") ? "yes" : "no";
        f["mytap0"] = urunc::path_exists("/sys/class/net/mytap0") ? "yes" : "no";
        f["v0.qdisc"] = sh("tc qdisc show dev v0");
        f["again"] = teardown_guest_network(g->tap, g->container_iface);
        f["foreign"] = teardown_guest_network("mytap0", "v0");
        sh("ip link del tap1_urunc");
        f["restart"] = setup_guest_network(0, 0, "c1") ? "yes" : "no";
    });
    REQUIRE_NO_CHILD_ERROR(f);
    CHECK(f["teardown"] == "");
    CHECK(f["tap0"] == "no");
    CHECK(f["tap1"] == "yes");
    CHECK(f["mytap0"] == "yes");
    CHECK(f["v0.qdisc"].find("ingress") == std::string::npos);
    CHECK(f["again"] == "");  // idempotent: nothing left is not an error
    CHECK(f["foreign"].find("refusing to delete `mytap0`") != std::string::npos);
    CHECK(f["restart"] == "yes");
}

TEST_CASE("teardown clears a qdisc left pointing at a vanished tap, not a foreign one",
          "[net][privileged]")
{
    if (!can_run())
        return;
    Facts f = in_scratch_netns([](Facts &f) {
        make_container_iface(true);
        auto g = setup_guest_network(0, 0, "c1");
        sh("ip link del " + tap_c1);  // the tap vanished behind our back (#406)
        f["dangling"] = teardown_guest_network(g->tap, g->container_iface);
        f["v0.after_dangling"] = sh("tc qdisc show dev v0");

        // A filter redirecting to a live foreign device is someone else's: left alone.
        sh("tc qdisc add dev v0 ingress && tc filter add dev v0 parent ffff: protocol all u32"
           " match u32 0 0 action mirred egress redirect dev d0");
        f["foreign"] = teardown_guest_network(g->tap, g->container_iface);
        f["v0.after_foreign"] = sh("tc qdisc show dev v0");
    });
    REQUIRE_NO_CHILD_ERROR(f);
    CHECK(f["dangling"] == "");
    CHECK(f["v0.after_dangling"].find("ingress") == std::string::npos);
    CHECK(f["foreign"] == "");
    CHECK(f["v0.after_foreign"].find("qdisc ingress ffff:") != std::string::npos);
}

namespace {

constexpr uint16_t test_ethertype = 0x88b5;  // IEEE "local experimental"
constexpr size_t vnet_hdr_len = 10;          // struct virtio_net_hdr, the tap default

std::vector<uint8_t> frame(const std::string &dst_mac, const std::string &marker)
{
    std::vector<uint8_t> f(60, 0);
    if (std::sscanf(dst_mac.c_str(), "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &f[0], &f[1], &f[2], &f[3],
                    &f[4], &f[5]) != 6)
        throw std::runtime_error("bad MAC " + dst_mac);
    const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
    std::memcpy(&f[6], src, 6);
    f[12] = test_ethertype >> 8;
    f[13] = test_ethertype & 0xff;
    std::memcpy(&f[14], marker.data(), marker.size());
    return f;
}

// Send a frame with `send` and read frames from fd until one carries `marker` after `skip`
// bytes of header; the kernel's own chatter (IPv6 ND, ...) is ignored. The frame is sent again
// every 100 ms: a tap whose carrier just came on drops frames until the kernel's linkwatch
// work activates its qdisc, which is asynchronous. 50 tries only bound a failure.
bool exchange(int fd, size_t skip, const std::string &marker, const std::function<void()> &send)
{
    for (int tries = 0; tries < 50; ++tries) {
        send();
        pollfd p{fd, POLLIN, 0};
        while (::poll(&p, 1, 100) > 0) {
            uint8_t buf[2048];
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0)
                return false;
            if (static_cast<size_t>(n) >= skip + 14 + marker.size() &&
                buf[skip + 12] == (test_ethertype >> 8) &&
                buf[skip + 13] == (test_ethertype & 0xff) &&
                std::memcmp(buf + skip + 14, marker.data(), marker.size()) == 0)
                return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("frames cross the mirror both ways, and a non-root VMM can attach", "[net][privileged]")
{
    if (!can_run())
        return;
    Facts f = in_scratch_netns([](Facts &f) {
        make_container_iface(true);
        auto g = setup_guest_network(1000, 1000, "c1");
        // The "outside world": a raw socket on the veth peer (opened while still root).
        urunc::UniqueFd pkt(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(test_ethertype)));
        if (!pkt)
            throw urunc::sys_error("socket(AF_PACKET)");
        sockaddr_ll sll{};
        sll.sll_family = AF_PACKET;
        sll.sll_protocol = htons(test_ethertype);
        sll.sll_ifindex = static_cast<int>(::if_nametoindex("v1"));
        if (::bind(pkt.get(), reinterpret_cast<sockaddr *>(&sll), sizeof sll) < 0)
            throw urunc::sys_error("bind AF_PACKET to `v1`");

        // /dev/net/tun is 0600 on this host (the monitor rootfs makes its own node 0666), so
        // open it first; attaching is what checks the tap's owner.
        urunc::UniqueFd tap(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
        if (!tap)
            throw urunc::sys_error("open `/dev/net/tun`");
        // Become the VMM's user, then attach to the tap as QEMU would.
        if (::setgroups(0, nullptr) < 0 || ::setresgid(1000, 1000, 1000) < 0 ||
            ::setresuid(1000, 1000, 1000) < 0)
            throw urunc::sys_error("drop to uid 1000");
        ifreq req{};
        std::strncpy(req.ifr_name, g->tap.c_str(), IFNAMSIZ - 1);
        req.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        if (::ioctl(tap.get(), TUNSETIFF, &req) < 0)
            throw urunc::sys_error("attach to `" + g->tap + "` as uid 1000");
        f["attached"] = "yes";

        // Outside -> container iface -> (mirred) -> tap -> guest.
        auto in = frame(g->mac, "to-guest");
        f["to_guest"] = exchange(tap.get(), vnet_hdr_len, "to-guest",
                                 [&] {
                                     if (::send(pkt.get(), in.data(), in.size(), 0) < 0)
                                         throw urunc::sys_error("send on `v1`");
                                 })
                            ? "yes"
                            : "no";

        // Guest -> tap -> (mirred) -> container iface -> outside.
        std::vector<uint8_t> out(vnet_hdr_len, 0);
        auto body = frame("ff:ff:ff:ff:ff:ff", "from-guest");
        out.insert(out.end(), body.begin(), body.end());
        f["from_guest"] = exchange(pkt.get(), 0, "from-guest",
                                   [&] {
                                       if (::write(tap.get(), out.data(), out.size()) < 0)
                                           throw urunc::sys_error("write to tap");
                                   })
                              ? "yes"
                              : "no";
    });
    REQUIRE_NO_CHILD_ERROR(f);
    CHECK(f["attached"] == "yes");
    CHECK(f["to_guest"] == "yes");
    CHECK(f["from_guest"] == "yes");
}

TEST_CASE("the route table answers \"no default route\" without netlink only when it is sure",
          "[net]")
{
    const std::string header =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
        "\t\t\n";
    // lo only: /proc/net/route lists nothing (lo's routes live in the local table)
    CHECK_FALSE(may_have_ipv4_default_route(header));
    CHECK_FALSE(may_have_ipv4_default_route(
        header + "v0\t00C8A80A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\t\t\n"));
    CHECK(may_have_ipv4_default_route(
        header + "v0\t00C8A80A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\t\t\n" +
        "v0\t00000000\t01C8A80A\t0003\t0\t0\t0\t00000000\t0\t0\t0\t\t\n"));
    // a namespace with no main table yet: the kernel prints nothing, not even the header
    CHECK_FALSE(may_have_ipv4_default_route(""));
    // not the table we know: netlink decides
    CHECK(may_have_ipv4_default_route("garbage\n"));
}

TEST_CASE("the kernel's route table as the guest network reads it: lo only, then a default route",
          "[net][privileged]")
{
    if (!can_run())
        return;
    Facts f = in_scratch_netns([](Facts &f) {
        auto table_says = [] {
            return may_have_ipv4_default_route(slurp("/proc/thread-self/net/route")) ? "yes" : "no";
        };
        f["fresh"] = table_says();
        sh("ip link set lo up");
        f["lo"] = table_says();
        f["lo.setup"] = setup_guest_network(0, 0, "c1") ? "yes" : "no";
        make_container_iface(true);
        f["v0"] = table_says();
        f["v0.setup"] = setup_guest_network(0, 0, "c1") ? "yes" : "no";
    });
    REQUIRE_NO_CHILD_ERROR(f);
    CHECK(f["fresh"] == "no");
    CHECK(f["lo"] == "no");
    CHECK(f["lo.setup"] == "no");
    CHECK(f["v0"] == "yes");
    CHECK(f["v0.setup"] == "yes");
}
