// MirageOS guest (Solo5 hvt/spt, or QEMU with the virtio target).
//
// Command line: printf("%s %s %s", address, gateway, args) as upstream, so a guest without
// network starts with two blanks; Mirage's argument parser splits on blanks, and keeping
// the exact upstream bytes keeps our lines comparable with upstream traces.
// With network: --ipv4=<IP>/<prefix> --ipv4-gateway=<GW>; when the Solo5 manifest names
// the net device something other than `service`, Mirage prefixes the options with the
// device name: --<dev>-ipv4=... --<dev>-ipv4-gateway=...
//
// Monitor words (hvt/spt only): --net:<dev>=<tap> --net-mac:<dev>=<mac> and the first
// guest block as --block:<blkdev>=<path> (manifest names from GuestParams, default
// `service` / `storage`). QEMU gets its generic virtio-net and no disks.
#include "unikernels/common.hpp"
#include "unikernels/guests.hpp"

namespace urunc::unikernels {
namespace {

const std::string &or_default(const std::string &s, const std::string &def)
{
    return s.empty() ? def : s;
}

class Mirage final : public Guest {
public:
    std::string_view name() const override { return "mirage"; }
    std::vector<std::string_view> monitors() const override { return {"hvt", "spt", "qemu"}; }
    bool supports_block() const override { return true; }
    // Mirage images bring their own block layout: never the container rootfs.
    bool supports_fs(std::string_view) const override { return false; }

    std::string command_line(const GuestParams &p) const override
    {
        std::string address, gateway;
        const Net *net = guest_net(p);
        if (net && !net->mask.empty()) {
            static const std::string kService = "service";
            const std::string &dev = or_default(p.solo5_net_dev, kService);
            std::string prefix = dev == kService ? "--" : "--" + dev + "-";
            address = prefix + "ipv4=" + net->ip + "/" +
                      std::to_string(prefix_or("mirage", net->mask, 24));
            gateway = prefix + "ipv4-gateway=" + net->gateway;
        }
        return address + " " + gateway + " " + join_args(p.args);
    }

    MonitorArgs monitor_args(const GuestParams &p) const override
    {
        MonitorArgs m;
        if (!p.vmm_traits.solo5_tender)  // on QEMU the VMM's default words do
            return m;
        static const std::string kService = "service", kStorage = "storage";
        const std::string &netdev = or_default(p.solo5_net_dev, kService);
        if (const Net *tap = guest_tap(p))
            m.net = {"--net:" + netdev + "=" + tap->tap, "--net-mac:" + netdev + "=" + tap->mac};
        // One block: the name must match the image's manifest, and only one is known.
        if (!p.blocks.empty())
            m.blocks.push_back({or_default(p.solo5_blk_dev, kStorage),
                                p.blocks.front().source,
                                {},
                                p.blocks.front().readonly});
        return m;
    }
};

}  // namespace

const Guest &mirage_guest()
{
    static const Mirage g;
    return g;
}

}  // namespace urunc::unikernels
