// Small helpers shared by the VMM tests.
#pragma once

#include "base/strings.hpp"
#include "unikernels/guest.hpp"
#include "vmm/vmm.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

namespace vmm_test {

using namespace urunc::unikernels;
using namespace urunc::vmm;
using Argv = std::vector<std::string>;

inline const Vmm &vmm(std::string_view name)
{
    const Vmm *v = find_vmm(name);
    REQUIRE(v != nullptr);
    return *v;
}

inline const Guest &guest(std::string_view name)
{
    const Guest *g = find_guest(name);
    REQUIRE(g != nullptr);
    return *g;
}

inline Net tap_net()
{
    Net n;
    n.tap = "tap0_urunc";
    n.ip = "10.0.0.5";
    n.mask = "255.255.255.0";
    n.gateway = "10.0.0.1";
    n.mac = "52:54:00:12:34:56";
    n.mtu = 1500;
    return n;
}

inline ExecPlan plan_for(std::string_view vmm_name)
{
    ExecPlan p;
    p.binary = "/usr/bin/" + std::string(vmm(vmm_name).default_binary());
    p.kernel = "/unikernel/kernel";
    return p;
}

// Build the guest command line into the plan, then the VMM command, as create does.
inline Command build(std::string_view vmm_name, std::string_view guest_name, GuestParams params,
                     ExecPlan plan)
{
    params.monitor = std::string(vmm_name);
    params.vmm_traits = vmm(vmm_name).traits();
    plan.guest_cmdline = guest(guest_name).command_line(params);
    return vmm(vmm_name).build(plan, guest(guest_name), params);
}

// A guest whose monitor fragments are set by the test (upstream's fakeUnikernel).
class FakeGuest final : public Guest {
public:
    MonitorArgs args;
    std::vector<std::string_view> vmms{"qemu", "firecracker", "hvt", "spt", "cloud-hypervisor"};
    std::string_view name() const override { return "fake"; }
    std::vector<std::string_view> monitors() const override { return vmms; }
    bool supports_block() const override { return true; }
    bool supports_fs(std::string_view) const override { return true; }
    std::string command_line(const GuestParams &) const override { return "fake cmdline"; }
    MonitorArgs monitor_args(const GuestParams &) const override { return args; }
};

inline Command build_fake(std::string_view vmm_name, const FakeGuest &g, ExecPlan plan)
{
    GuestParams params;
    params.monitor = std::string(vmm_name);
    params.vmm_traits = vmm(vmm_name).traits();
    if (plan.guest_cmdline.empty())
        plan.guest_cmdline = g.command_line(params);
    return vmm(vmm_name).build(plan, g, params);
}

inline bool has(const Argv &argv, std::string_view word)
{
    return std::find(argv.begin(), argv.end(), word) != argv.end();
}

// True when `seq` appears as consecutive words of argv.
inline bool has_seq(const Argv &argv, const Argv &seq)
{
    return std::search(argv.begin(), argv.end(), seq.begin(), seq.end()) != argv.end();
}

inline bool joined_has(const Argv &argv, std::string_view text)
{
    return urunc::join(argv, " ").find(text) != std::string::npos;
}

}  // namespace vmm_test
