#include "vmm/solo5.hpp"

#include "vmm/common.hpp"

#include "base/error.hpp"

namespace urunc::vmm {

unikernels::MonitorTraits solo5_traits()
{
    unikernels::MonitorTraits t;
    t.solo5_tender = true;
    return t;
}

Command solo5_command(const Vmm &tender, const ExecPlan &plan, const unikernels::Guest &guest,
                      const unikernels::GuestParams &params)
{
    const std::string name(tender.name());
    check_request(tender, plan, guest, params);
    check_shared_fs(tender, plan);
    const unikernels::MonitorArgs g = guest.monitor_args(params);
    if (!plan.initrd.empty() || !g.extra_initrd.empty())
        throw Error(name + ": Solo5 cannot load an initrd (`" +
                    (plan.initrd.empty() ? g.extra_initrd : plan.initrd) + "`)");

    Command cmd;
    auto &a = cmd.argv;
    // solo5 reads --mem in MiB (it multiplies by 1 << 20)
    a = {plan.binary, "--mem=" + std::to_string(plan.memory_mib)};
    if (plan_tap(plan))
        append(a, g.net);
    for (const auto &b : g.blocks) {
        if (!b.exact.empty())
            append(a, b.exact);
        else if (b.readonly && !b.path.empty())
            // Solo5 has no read-only block device: refused rather than given read-write.
            throw Error("solo5: disk `" + b.id +
                        "` must be read-only (root.readonly or a `ro` "
                        "volume), and solo5 can only give a disk read-write");
        else if (!b.path.empty())  // a guest may name a device it has no image for
            a.push_back("--block:" + b.id + "=" + b.path);
    }
    append(a, g.other);
    append(a, {"--", plan.kernel});
    if (!plan.guest_cmdline.empty())
        a.push_back(plan.guest_cmdline);
    cmd.files = g.files;
    return cmd;
}

}  // namespace urunc::vmm
