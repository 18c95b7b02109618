// Thin RAII layer over libnl-route-3: one socket, plain snapshots of links, IPv4 addresses
// and IPv4 routes of the current network namespace, link changes, and libnl error codes
// turned into urunc::Error with an errno.
#pragma once

#include "base/error.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct nl_sock;

namespace urunc::net {

// libnl reports negative NLE_* codes, not errno; map the ones the kernel can cause back to
// errno so messages read like every other error of the runtime: "<context>: <strerror>".
int nl_to_errno(int nlerr);
Error nl_error(std::string_view context, int nlerr);

// A connected NETLINK_ROUTE socket (of the netns current at construction).
class NlSocket {
public:
    NlSocket();
    nl_sock *get() const noexcept { return sock_.get(); }

private:
    struct Free {
        void operator()(nl_sock *s) const noexcept;
    };
    std::unique_ptr<nl_sock, Free> sock_;
};

struct Link {
    int index = 0;
    std::string name;
    unsigned flags = 0;  // IFF_*
    unsigned mtu = 0;
    std::string mac;  // "aa:bb:cc:dd:ee:ff", "" when the link has none
};

struct Ipv4Address {
    int ifindex = 0;
    std::string ip;  // dotted
    unsigned prefixlen = 0;
};

struct Ipv4Route {
    int ifindex = 0;      // first nexthop's device
    std::string gateway;  // "" for on-link routes
    unsigned dst_len = 0;
    bool is_default() const { return dst_len == 0; }
};

// Snapshots, ordered by the kernel's dump order (links by ifindex).
std::vector<Link> list_links(const NlSocket &s);
std::vector<Ipv4Address> list_ipv4_addresses(const NlSocket &s);
std::vector<Ipv4Route> list_ipv4_main_routes(const NlSocket &s);  // unicast, table main

std::optional<Link> find_link(const NlSocket &s, const std::string &name);

// Set MTU (0 = keep) and bring the link up.
void set_link_up(const NlSocket &s, const Link &link, unsigned mtu);

// Delete a link by ifindex; returns the libnl code (0 = ok) so callers can be best effort.
int delete_link(const NlSocket &s, int ifindex);

// "255.255.255.0" for 24.
std::string prefix_to_mask(unsigned prefixlen);

}  // namespace urunc::net
