// Solo5-spt (solo5-spt): the guest runs as a seccomp-sandboxed process, no KVM.
// argv grammar in solo5.hpp. spt installs its own seccomp filter, so pre_exec adds none.
#include "vmm/solo5.hpp"
#include "vmm/vmms.hpp"

namespace urunc::vmm {
namespace {

class Spt final : public Vmm {
public:
    std::string_view name() const override { return "spt"; }
    std::string_view default_binary() const override { return "solo5-spt"; }
    bool needs_kvm() const override { return false; }
    bool uses_kvm() const override { return false; }
    bool supports_shared_fs(std::string_view) const override { return false; }
    unikernels::MonitorTraits traits() const override { return solo5_traits(); }

    Command build(const ExecPlan &plan, const unikernels::Guest &guest,
                  const unikernels::GuestParams &params) const override
    {
        return solo5_command(*this, plan, guest, params);
    }
};

}  // namespace

const Vmm &spt_vmm()
{
    static const Spt v;
    return v;
}

}  // namespace urunc::vmm
