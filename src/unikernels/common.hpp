// Helpers shared by the guest files (internal to src/unikernels/). Pure: no syscalls.
#pragma once

#include "unikernels/guest.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urunc::unikernels {

// The guest network when it has an address to configure, else nullptr. A Net without an
// IP (e.g. a tap but no address) is "no network" for every guest command line.
const Net *guest_net(const GuestParams &p);

// The host tap the guest is attached to, else nullptr (monitor net words need it).
const Net *guest_tap(const GuestParams &p);

// Dotted quad -> host-order address; nullopt unless exactly four decimal octets 0..255.
std::optional<uint32_t> parse_ipv4(std::string_view s);

// Prefix length of a dotted netmask ("255.255.255.240" -> 28); nullopt when the text is
// not an address or the mask is not contiguous.
std::optional<int> mask_prefix(std::string_view dotted);

// Prefix length of `mask`, `fallback` when it is empty. Throws Error
// "<guest>: invalid netmask `<mask>`" when it is set but not a contiguous mask.
int prefix_or(std::string_view guest, std::string_view mask, int fallback);

// True when ip and gw share the subnet given by the dotted mask. Unparseable input or an
// empty gateway counts as "same subnet" (nothing to work around), as upstream's check did.
bool same_subnet(std::string_view ip, std::string_view gw, std::string_view mask);

// process.args joined by single spaces (the usual unikernel application command).
std::string join_args(const std::vector<std::string> &args);

}  // namespace urunc::unikernels
