// Hermit (hermit-rs) guest (QEMU only).
//
// Command line: `ip=<IP>/<prefix>` (with an address; /24 when the mask is empty),
// `gateway=<GW>` (with a gateway), then `--` only when there are network words and a
// non-blank application command, then the command; joined by single spaces.
// QEMU words: its own tap netdev and a modern-only virtio-net device (virtio-net-device on
// aarch64). Upstream also passed -no-reboot, which our QEMU always emits.
#include "unikernels/common.hpp"
#include "unikernels/guests.hpp"

#include "base/strings.hpp"

namespace urunc::unikernels {
namespace {

class Hermit final : public Guest {
public:
    std::string_view name() const override { return "hermit"; }
    std::vector<std::string_view> monitors() const override { return {"qemu"}; }
    bool supports_block() const override { return false; }
    // Hermit boots from an initrd only; "initrd" is the only acceptable rootfs word.
    bool supports_fs(std::string_view fs) const override { return fs == "initrd"; }

    std::string command_line(const GuestParams &p) const override
    {
        std::vector<std::string> words;
        if (const Net *net = guest_net(p)) {
            words.push_back("ip=" + net->ip + "/" +
                            std::to_string(prefix_or("hermit", net->mask, 24)));
            if (!net->gateway.empty())
                words.push_back("gateway=" + net->gateway);
        }
        std::string command(trim(join_args(p.args)));
        if (!words.empty() && !command.empty())
            words.push_back("--");
        if (!command.empty())
            words.push_back(command);
        return join(words, " ");
    }

    MonitorArgs monitor_args(const GuestParams &p) const override
    {
        MonitorArgs m;
        if (!p.vmm_traits.qemu_argv)  // its words are QEMU's
            return m;
        if (const Net *tap = guest_tap(p)) {
            std::string dev = p.arch == "aarch64" ? "virtio-net-device,netdev=net0"
                                                  : "virtio-net-pci,netdev=net0,disable-legacy=on";
            if (!tap->mac.empty())
                dev += ",mac=" + tap->mac;
            m.net = {"-netdev", "tap,id=net0,ifname=" + tap->tap + ",script=no,downscript=no",
                     "-device", dev};
        }
        return m;
    }
};

}  // namespace

const Guest &hermit_guest()
{
    static const Hermit g;
    return g;
}

}  // namespace urunc::unikernels
