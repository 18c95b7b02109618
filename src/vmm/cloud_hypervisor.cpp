// Cloud Hypervisor (cloud-hypervisor).
//
// argv, in this order:
//   <binary> --memory size=<MiB>M [--cpus boot=<n>] --kernel <kernel>
//   --console off --serial tty --seccomp true|false [<net>] [--disk ...]
//   [--initramfs <initrd>] [<guest words>] --cmdline <guest command line>
// Net: the guest's words if it gives any, else --net tap=<tap>,mac=<mac>. No filesystem is
// shared with the guest (CH has no 9p; urunc starts virtiofsd for QEMU only).
//
// Deliberate decisions (differences from upstream urunc):
// - Memory is MiB (`size=<MiB>M`; upstream rendered bytes/1e6).
// - Guest disks become `--disk path=<path>,id=<id>`: the Linux guest now gives CH its
//   disks (upstream gave CH none, so block rootfs and volumes never reached the guest).
// - One initramfs: the plan's or the guest's extra one; both is an error (upstream passed
//   --initramfs twice).
#include "vmm/common.hpp"
#include "vmm/vmms.hpp"

#include "base/error.hpp"

namespace urunc::vmm {
namespace {

using unikernels::Guest;
using unikernels::GuestParams;

class CloudHypervisor final : public Vmm {
public:
    std::string_view name() const override { return "cloud-hypervisor"; }
    std::string_view default_binary() const override { return "cloud-hypervisor"; }
    bool needs_kvm() const override { return true; }
    bool uses_kvm() const override { return true; }
    bool supports_shared_fs(std::string_view) const override { return false; }
    unikernels::MonitorTraits traits() const override { return {}; }  // --disk path=<p>,id=<id>

    Command build(const ExecPlan &plan, const Guest &guest,
                  const GuestParams &params) const override
    {
        check_request(*this, plan, guest, params);
        check_shared_fs(*this, plan);
        const unikernels::MonitorArgs g = guest.monitor_args(params);
        const std::string initrd = single_initrd("cloud-hypervisor", plan, g);

        Command cmd;
        auto &a = cmd.argv;
        a = {plan.binary, "--memory", "size=" + std::to_string(plan.memory_mib) + "M"};
        if (plan.vcpus > 0)
            append(a, {"--cpus", "boot=" + std::to_string(plan.vcpus)});
        append(a, {"--kernel", plan.kernel, "--console", "off", "--serial", "tty", "--seccomp",
                   plan.seccomp ? "true" : "false"});
        if (const unikernels::Net *tap = plan_tap(plan)) {
            if (!g.net.empty()) {
                append(a, g.net);
            } else {
                std::string net = "tap=" + tap->tap;
                if (!tap->mac.empty())
                    net += ",mac=" + tap->mac;
                append(a, {"--net", net});
            }
        }
        for (const auto &b : g.blocks) {
            if (!b.exact.empty()) {
                append(a, b.exact);
            } else if (!b.path.empty()) {
                std::string disk = "path=" + b.path;
                if (!b.id.empty())
                    disk += ",id=" + b.id;
                if (b.readonly)
                    disk += ",readonly=on";
                append(a, {"--disk", disk});
            }
        }
        if (!initrd.empty())
            append(a, {"--initramfs", initrd});
        append(a, g.other);
        append(a, {"--cmdline", plan.guest_cmdline});
        cmd.files = g.files;
        return cmd;
    }
};

}  // namespace

const Vmm &cloud_hypervisor_vmm()
{
    static const CloudHypervisor v;
    return v;
}

}  // namespace urunc::vmm
