// QEMU (qemu-system-x86_64).
//
// argv, in this order:
//   <binary> -m <MiB>M -L <data_dir|/usr/share/qemu> <accel> -display none -vga none
//   -serial stdio -monitor null -no-reboot [-smp <n>] [--sandbox ...] -kernel <kernel>
//   <net> <blocks> [-initrd <initrd>] <shared fs> [-initrd <guest extra>] <guest words>
//   (shared fs: 9p `-fsdev ... -device virtio-9p-pci`, or virtiofs `-object memory-backend-
//   memfd ... -numa node,memdev=mem -chardev socket ... -device vhost-user-fs-pci`)
//   -append <guest command line>            (always last, one argv element)
//
// Deliberate decisions (differences from upstream urunc):
// - Memory is MiB: `-m <MiB>M` (upstream rendered bytes/1e6, so 256 MiB became 268M).
// - Accelerator: with KVM `-enable-kvm -cpu host`; without, `-accel tcg -cpu max`
//   (`-cpu host` is KVM-only). Upstream always asked for KVM.
// - `-no-reboot` always: a guest that reboots should end the container, not loop in it.
//   Guests that asked for it upstream (linux, mewz, hermit) no longer repeat it.
// - `-nic none` without a tap; `host_mtu=` only when the MTU is known (> 0), `mac=` only
//   when a MAC is known (QEMU then picks one).
#include "vmm/common.hpp"
#include "vmm/vmms.hpp"

#include "base/error.hpp"

namespace urunc::vmm {
namespace {

using unikernels::Guest;
using unikernels::GuestParams;

// The shared filesystem's words: 9p served by QEMU itself, or virtiofs served by the
// virtiofsd the init started.
std::vector<std::string> shared_fs_words(const ExecPlan &plan, const std::string &mem)
{
    if (plan.shared_fs == "9p") {
        if (plan.shared_path.empty())
            throw Error("qemu: 9p shared filesystem without a path");
        // security_model=none: files keep their host owners and modes (an image rootfs
        // must look the same to the guest). Device nodes in the share cannot be opened
        // through it: the share is bound nodev into the monitor root.
        return {"-fsdev",
                "local,id=rootfs9p,security_model=none," +
                    std::string(plan.shared_readonly ? "readonly=on," : "") +
                    "path=" + plan.shared_path,
                "-device", "virtio-9p-pci,fsdev=rootfs9p,mount_tag=fs0"};
    }
    if (plan.shared_fs == "virtiofs") {
        if (plan.virtiofs_socket.empty())
            throw Error("qemu: virtiofs shared filesystem without a virtiofsd socket");
        // vhost-user: virtiofsd maps the guest's RAM, so it must be a shared memfd (one
        // NUMA node backed by it). Read-only is the bind under virtiofsd (it has no
        // option for it).
        return {"-object",  "memory-backend-memfd,id=mem,size=" + mem + "M,share=on",
                "-numa",    "node,memdev=mem",
                "-chardev", "socket,id=vfs,path=" + plan.virtiofs_socket,
                "-device",  "vhost-user-fs-pci,chardev=vfs,tag=fs0"};
    }
    return {};
}

class Qemu final : public Vmm {
public:
    std::string_view name() const override { return "qemu"; }
    std::string_view default_binary() const override { return "qemu-system-x86_64"; }
    bool needs_kvm() const override { return false; }  // TCG works, slowly
    bool uses_kvm() const override { return true; }
    bool supports_shared_fs(std::string_view fs) const override
    {
        return fs == "9p" || fs == "virtiofs";
    }
    unikernels::MonitorTraits traits() const override
    {
        unikernels::MonitorTraits t;
        t.qemu_argv = true;
        t.has_nodefaults = true;
        t.aarch64_console = "ttyAMA0";  // the virt machine's PL011
        return t;
    }
    // Debian builds TCG as accel-tcg-<arch>.so next to QEMU's libraries.
    bool dlopens_accel_modules() const override { return true; }
    // Debian: the data dir, SeaBIOS, and iPXE's option ROMs (virtio-net-pci loads its
    // romfile from there).
    std::vector<std::string> firmware_dirs(const ExecPlan &plan) const override
    {
        return {plan.data_dir.empty() ? "/usr/share/qemu" : plan.data_dir, "/usr/share/seabios",
                "/usr/lib/ipxe/qemu"};
    }

    Command build(const ExecPlan &plan, const Guest &guest,
                  const GuestParams &params) const override
    {
        check_request(*this, plan, guest, params);
        check_shared_fs(*this, plan);
        const unikernels::MonitorArgs g = guest.monitor_args(params);
        single_initrd("qemu", plan, g);  // throws when both are set
        const std::string mem = std::to_string(plan.memory_mib);

        Command cmd;
        auto &a = cmd.argv;
        a = {plan.binary, "-m", mem + "M", "-L",
             plan.data_dir.empty() ? "/usr/share/qemu" : plan.data_dir};
        if (plan.kvm)
            append(a, {"-enable-kvm", "-cpu", "host"});
        else
            append(a, {"-accel", "tcg", "-cpu", "max"});
        append(a, {"-display", "none", "-vga", "none", "-serial", "stdio", "-monitor", "null",
                   "-no-reboot"});
        if (plan.vcpus > 0)
            append(a, {"-smp", std::to_string(plan.vcpus)});
        if (plan.seccomp)
            // obsolete: old syscalls; elevateprivileges: set*uid/gid; spawn: fork/execve;
            // resourcecontrol: affinity and scheduler priority.
            append(a, {"--sandbox",
                       "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"});
        append(a, {"-kernel", plan.kernel});

        if (const unikernels::Net *tap = plan_tap(plan)) {
            if (!g.net.empty()) {
                append(a, g.net);
            } else {
                std::string netdev = "tap,id=net0,script=no,downscript=no,ifname=" + tap->tap;
                if (plan.vhost)
                    netdev += ",vhost=on";
                std::string dev = "virtio-net-pci,netdev=net0";
                if (tap->mtu > 0)
                    dev += ",host_mtu=" + std::to_string(tap->mtu);
                if (!tap->mac.empty())
                    dev += ",mac=" + tap->mac;
                append(a, {"-netdev", netdev, "-device", dev});
            }
        } else {
            append(a, {"-nic", "none"});
        }

        for (const auto &b : g.blocks) {
            if (!b.id.empty() && !b.path.empty())
                append(a,
                       {"-device", "virtio-blk-pci,serial=" + b.id + ",drive=" + b.id + ",scsi=off",
                        "-drive",
                        "format=raw,if=none,id=" + b.id + ",file=" + b.path +
                            (b.readonly ? ",readonly=on" : "")});
            else
                append(a, b.exact);
        }
        if (!plan.initrd.empty())
            append(a, {"-initrd", plan.initrd});

        append(a, shared_fs_words(plan, mem));

        if (!g.extra_initrd.empty())
            append(a, {"-initrd", g.extra_initrd});
        append(a, g.other);
        append(a, {"-append", plan.guest_cmdline});
        cmd.files = g.files;
        return cmd;
    }
};

}  // namespace

const Vmm &qemu_vmm()
{
    static const Qemu v;
    return v;
}

}  // namespace urunc::vmm
