// Solo5-hvt (solo5-hvt): the guest runs in a KVM VM. argv grammar in solo5.hpp.
// pre_exec: with plan.seccomp, install urunc's allow-list for the tender (hvt_seccomp.hpp)
// — solo5-hvt does not sandbox itself, unlike spt.
// Deliberate: memory is MiB (`--mem=<MiB>`, what solo5 reads); upstream rendered
// bytes/1e6 ("decimal MB", so 256 MiB became --mem=268).
#include "vmm/hvt_seccomp.hpp"
#include "vmm/solo5.hpp"
#include "vmm/vmms.hpp"

namespace urunc::vmm {
namespace {

class Hvt final : public Vmm {
public:
    std::string_view name() const override { return "hvt"; }
    std::string_view default_binary() const override { return "solo5-hvt"; }
    bool needs_kvm() const override { return true; }
    bool uses_kvm() const override { return true; }
    bool supports_shared_fs(std::string_view) const override { return false; }
    unikernels::MonitorTraits traits() const override { return solo5_traits(); }

    Command build(const ExecPlan &plan, const unikernels::Guest &guest,
                  const unikernels::GuestParams &params) const override
    {
        return solo5_command(*this, plan, guest, params);
    }

    void pre_exec(const ExecPlan &plan) const override
    {
        if (plan.seccomp)
            load_hvt_filter();
    }
};

}  // namespace

const Vmm &hvt_vmm()
{
    static const Hvt v;
    return v;
}

}  // namespace urunc::vmm
