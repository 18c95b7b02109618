// The guest network of a unikernel container (urunc's "dynamic" mode): the container's init
// process calls this inside the container's network namespace at `start` time, right before
// it execs the VMM. A tap of its own (`tap<6 digits>_urunc`, derived from the container id)
// is mirrored with tc to a container interface (the CNI veth), so the guest itself owns that
// interface's IPv4 address and MAC. One guest per container interface: a second guest in
// the same namespace takes the next free interface, if there is one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace urunc::net {

// The tap name of containers recorded before taps were named per container (state files
// without a tap name): delete still finds their tap under it.
inline constexpr std::string_view legacy_tap_name = "tap0_urunc";

// Candidate tap name number `attempt` for a container: `tap<NNNNNN>_urunc` (15 bytes, the
// most IFNAMSIZ allows), NNNNNN = a hash of the id mod 10^6, plus `attempt` (collisions with
// an existing link take the next number).
std::string guest_tap_name(std::string_view container_id, unsigned attempt = 0);

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

// In the current network namespace. The container interface is the first non-loopback link
// that is up, has an IPv4 address, carries an IPv4 default route and is not already
// mirrored to a urunc tap (another guest's). nullopt when no link qualifies even ignoring
// that last condition: the guest then gets no network, and the caller says so in its log.
// Throws Error (EEXIST) when every qualifying link already carries a guest, or if any step
// fails; everything created before the failure is removed again.
std::optional<GuestNetwork> setup_guest_network(uint32_t uid, uint32_t gid,
                                                std::string_view container_id);

// Best effort, in the current network namespace: delete our tap and the ingress qdisc on
// the container interface if (and only if) its filters redirect to that tap. Other taps are
// never touched. Returns "" on success, else the errors joined with "; ".
std::string teardown_guest_network(const std::string &tap, const std::string &container_iface);

// True for names this module creates: tap<digits>_urunc (not any name containing "tap").
bool is_urunc_tap_name(std::string_view name);

// From the text of /proc/net/route (this namespace's IPv4 routes of the main table): false
// only when it is that table (or empty: no main table yet) and lists no default route, i.e.
// no link can qualify.
bool may_have_ipv4_default_route(std::string_view proc_net_route);

// First IPv4 `nameserver` of resolv.conf text, "" if none.
std::string first_ipv4_nameserver(std::string_view resolv_conf);

}  // namespace urunc::net
