// Pure helpers of the net module: tap naming, resolv.conf, masks.
#include "net/guest_network.hpp"
#include "net/netlink.hpp"

#include <catch2/catch.hpp>

#include <netlink/errno.h>

using namespace urunc::net;

TEST_CASE("only tap<N>_urunc counts as our tap (upstream #938)", "[net]")
{
    CHECK(is_urunc_tap_name("tap0_urunc"));
    CHECK(is_urunc_tap_name("tap17_urunc"));
    CHECK_FALSE(is_urunc_tap_name("tap_urunc"));
    CHECK_FALSE(is_urunc_tap_name("tapx_urunc"));
    CHECK_FALSE(is_urunc_tap_name("mytap0"));
    CHECK_FALSE(is_urunc_tap_name("tap0"));
    CHECK_FALSE(is_urunc_tap_name("tap0_urunc2"));
    CHECK_FALSE(is_urunc_tap_name("xtap0_urunc"));
}

TEST_CASE("a container's tap name: 6 digits from its id, within IFNAMSIZ, ours", "[net]")
{
    const std::string a = guest_tap_name("c1"), b = guest_tap_name("c2");
    CHECK(a.size() == 15);  // IFNAMSIZ - 1
    CHECK(is_urunc_tap_name(a));
    CHECK(a != b);
    CHECK(guest_tap_name("c1") == a);  // stable: the same id gives the same name
    // The next attempt is the next number, wrapping at 10^6.
    CHECK(std::stoul(guest_tap_name("c1", 1).substr(3, 6)) ==
          (std::stoul(a.substr(3, 6)) + 1) % 1000000);
    const std::string long_id(1024, 'x');
    CHECK(guest_tap_name(long_id).size() == 15);
}

TEST_CASE("first IPv4 nameserver of resolv.conf", "[net]")
{
    CHECK(first_ipv4_nameserver("") == "");
    CHECK(first_ipv4_nameserver("search example.com\nnameserver 10.0.0.53\n") == "10.0.0.53");
    CHECK(
        first_ipv4_nameserver("# nameserver 1.1.1.1\nnameserver fe80::1\n  nameserver\t8.8.8.8  \n"
                              "nameserver 9.9.9.9") == "8.8.8.8");
    CHECK(first_ipv4_nameserver("nameserver\nnameserver 300.1.1.1\n") == "");
}

TEST_CASE("prefix length to dotted mask", "[net]")
{
    CHECK(prefix_to_mask(0) == "0.0.0.0");
    CHECK(prefix_to_mask(8) == "255.0.0.0");
    CHECK(prefix_to_mask(20) == "255.255.240.0");
    CHECK(prefix_to_mask(24) == "255.255.255.0");
    CHECK(prefix_to_mask(31) == "255.255.255.254");
    CHECK(prefix_to_mask(32) == "255.255.255.255");
}

TEST_CASE("libnl error codes read as errno text", "[net]")
{
    CHECK(nl_to_errno(-NLE_EXIST) == EEXIST);
    CHECK(nl_to_errno(-NLE_OBJ_NOTFOUND) == ENOENT);
    CHECK(nl_to_errno(-NLE_PERM) == EPERM);
    CHECK(std::string(nl_error("add ingress qdisc on `v0`", -NLE_EXIST).what()) ==
          "add ingress qdisc on `v0`: File exists");
    CHECK(nl_error("x", -NLE_EXIST).code() == EEXIST);
    // Codes with no errno keep libnl's own words.
    CHECK(std::string(nl_error("parse", -NLE_PARSE_ERR).what()).find("parse: ") == 0);
}
