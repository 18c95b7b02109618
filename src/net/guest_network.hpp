// The guest network of a unikernel container (urunc's "dynamic" mode): the container's init
// process calls this inside the container's network namespace at `start` time, right before
// it execs the VMM. A tap `tap0_urunc` is mirrored with tc to the container interface (the
// CNI veth), so the guest itself owns the container's IPv4 address and MAC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace urunc::net {

// The tap this module creates; one per network namespace.
inline constexpr std::string_view guest_tap_name = "tap0_urunc";

// Plain data for the guest command line and the VMM's net device.
struct GuestNetwork {
    std::string tap;              // host device the VMM attaches to
    std::string ip, mask;         // container IPv4 address, dotted mask
    std::string gateway;          // default gateway
    std::string mac;              // container interface MAC, given to the guest NIC
    std::string dns;              // first IPv4 nameserver of /etc/resolv.conf, or ""
    unsigned mtu = 0;             // container interface MTU (the tap gets the same)
    std::string container_iface;  // needed again by teardown
};

// In the current network namespace. nullopt when there is no container interface (the
// first non-loopback link that is up, has an IPv4 address and carries the IPv4 default
// route): the guest then gets no network, and the caller says so in its log.
// Throws Error if a `tap<N>_urunc` already exists here (one guest per network namespace) or
// if any step fails; everything created before the failure is removed again.
std::optional<GuestNetwork> setup_guest_network(uint32_t uid, uint32_t gid);

// Best effort, in the current network namespace: delete our tap and the ingress qdisc on
// the container interface if (and only if) its filters redirect to that tap. Other taps are
// never touched. Returns "" on success, else the errors joined with "; ".
std::string teardown_guest_network(const std::string &tap, const std::string &container_iface);

// True for names this module creates: tap<digits>_urunc (not any name containing "tap").
bool is_urunc_tap_name(std::string_view name);

// First IPv4 `nameserver` of resolv.conf text, "" if none.
std::string first_ipv4_nameserver(std::string_view resolv_conf);

} // namespace urunc::net
