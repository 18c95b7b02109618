// Small helpers shared by the guest tests.
#pragma once

#include "base/strings.hpp"
#include "unikernels/guest.hpp"

#include <catch2/catch.hpp>

namespace guest_test {

using namespace urunc::unikernels;

inline const Guest &guest(std::string_view name)
{
    const Guest *g = find_guest(name);
    REQUIRE(g != nullptr);
    return *g;
}

// Collapse blank runs and trim, as the upstream tests compared command lines.
inline std::string normalise(std::string_view s) { return urunc::join(urunc::split_ws(s), " "); }

inline Net net(std::string ip, std::string mask, std::string gw)
{
    Net n;
    n.tap = "tap0_urunc";
    n.ip = std::move(ip);
    n.mask = std::move(mask);
    n.gateway = std::move(gw);
    n.mac = "aa:bb:cc:dd:ee:ff";
    n.mtu = 1500;
    return n;
}

}  // namespace guest_test
