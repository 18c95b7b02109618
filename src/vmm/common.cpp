#include "vmm/common.hpp"

#include "base/error.hpp"
#include "base/strings.hpp"

#include <algorithm>

namespace urunc::vmm {

void check_request(const Vmm &vmm, const ExecPlan &plan, const unikernels::Guest &guest,
                   const unikernels::GuestParams &params)
{
    const std::string v(vmm.name());
    const auto mons = guest.monitors();
    if (std::find(mons.begin(), mons.end(), vmm.name()) == mons.end()) {
        std::vector<std::string> names(mons.begin(), mons.end());
        throw Error("guest `" + std::string(guest.name()) + "` cannot run on `" + v +
                    "` (it runs on: " + join(names, ", ") + ")");
    }
    if (params.monitor != vmm.name())
        throw Error(v + ": guest parameters were built for monitor `" + params.monitor + "`");
    if (plan.memory_mib == 0)
        throw Error(v + ": guest memory must be at least 1 MiB");
    if (vmm.needs_kvm() && !plan.kvm)
        throw Error(v + ": needs KVM (/dev/kvm), which is not usable here");
}

const unikernels::Net *plan_tap(const ExecPlan &plan)
{
    return plan.net && !plan.net->tap.empty() ? &*plan.net : nullptr;
}

std::string single_initrd(std::string_view vmm, const ExecPlan &plan,
                          const unikernels::MonitorArgs &guest)
{
    if (!plan.initrd.empty() && !guest.extra_initrd.empty())
        throw Error(std::string(vmm) + ": the guest needs a second initrd `" + guest.extra_initrd +
                    "` besides `" + plan.initrd + "`, but only one can be loaded");
    return plan.initrd.empty() ? guest.extra_initrd : plan.initrd;
}

void check_shared_fs(const Vmm &vmm, const ExecPlan &plan)
{
    if (!plan.shared_fs.empty() && !vmm.supports_shared_fs(plan.shared_fs))
        throw Error(std::string(vmm.name()) + ": cannot share a filesystem with the guest (" +
                    plan.shared_fs + ")");
}

void append(std::vector<std::string> &out, const std::vector<std::string> &words)
{
    out.insert(out.end(), words.begin(), words.end());
}

}  // namespace urunc::vmm
