// Small helpers shared by the guest tests.
#pragma once

#include "base/strings.hpp"
#include "unikernels/guest.hpp"
#include "vmm/vmm.hpp"

#include <catch2/catch.hpp>

namespace guest_test {

using namespace urunc::unikernels;

inline const Guest &guest(std::string_view name)
{
    const Guest *g = find_guest(name);
    REQUIRE(g != nullptr);
    return *g;
}

// The guest runs on the VMM `name`: its name and traits, as create fills them in.
inline void on_monitor(GuestParams &p, std::string_view name)
{
    const urunc::vmm::Vmm *v = urunc::vmm::find_vmm(name);
    REQUIRE(v != nullptr);
    p.monitor = std::string(name);
    p.vmm_traits = v->traits();
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
