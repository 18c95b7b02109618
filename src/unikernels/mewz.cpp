// Mewz guest (QEMU only).
//
// Command line: `ip=<IP>/<prefix> gateway=<GW>` with a network (prefix /24 when the mask
// is empty), else empty.
// QEMU words: Mewz drives a modern-only virtio-net device, so it replaces QEMU's default
// net words; it signals exit through isa-debug-exit (port 0x501). Upstream also passed
// -no-reboot, which our QEMU always emits, so it is not repeated here.
#include "unikernels/common.hpp"
#include "unikernels/guests.hpp"

namespace urunc::unikernels {
namespace {

class Mewz final : public Guest {
public:
    std::string_view name() const override { return "mewz"; }
    std::vector<std::string_view> monitors() const override { return {"qemu"}; }
    bool supports_block() const override { return false; }
    bool supports_fs(std::string_view) const override { return false; }

    std::string command_line(const GuestParams &p) const override
    {
        const Net *net = guest_net(p);
        if (!net)
            return "";
        return "ip=" + net->ip + "/" + std::to_string(prefix_or("mewz", net->mask, 24)) +
               " gateway=" + net->gateway;
    }

    MonitorArgs monitor_args(const GuestParams &p) const override
    {
        MonitorArgs m;
        if (!p.vmm_traits.qemu_argv)  // its words are QEMU's
            return m;
        if (const Net *tap = guest_tap(p))
            m.net = {"-device",
                     "virtio-net-pci,netdev=net0,disable-legacy=on,disable-modern=off,mac=" +
                         tap->mac,
                     "-netdev", "tap,script=no,downscript=no,id=net0,ifname=" + tap->tap};
        m.other = {"-device", "isa-debug-exit,iobase=0x501,iosize=2"};
        return m;
    }
};

}  // namespace

const Guest &mewz_guest()
{
    static const Mewz g;
    return g;
}

}  // namespace urunc::unikernels
