// Rumprun guest (Solo5 hvt/spt only).
//
// Command line: Rumprun's own JSON dialect, built by hand because it is not valid JSON:
// {"cmdline":"<args>","env":"K=V","env":"K2=V2","net":{...},"blk":{...}} — one "env"
// member per variable (duplicate keys; rumprun putenv()s each), no spaces. Strings are
// escaped as JSON but `& < >` are left alone (rumprun does not decode \u0026).
//
// Monitor words: --net:tap=<tap> --net-mac:tap=<mac>, and one block with id `rootfs`
// (the Solo5 manifest name rumprun images declare) for the first guest block.
//
// Deliberate decision (difference from upstream urunc): the "mask" member.
// Rumprun reads it with atoi() as a prefix length (lib/librumprun_base/config.c), so we
// send the real prefix of Net::mask ("24"), not the dotted mask. Upstream always sent "1"
// (the prefix of 128.0.0.0): in Kubernetes the gateway is often outside the pod subnet
// (/32 pod addresses, link-local gateways), and rumprun then fails to add the default
// route; a /1 interface route made the gateway look on-link. We keep "1" for exactly that
// case — when the gateway lies outside the subnet Net::mask describes — and use the real
// prefix otherwise.
#include "unikernels/common.hpp"
#include "unikernels/guests.hpp"

#include "base/strings.hpp"

namespace urunc::unikernels {
namespace {

std::string member(std::string_view key, std::string_view value)
{
    return json_quote(key) + ":" + json_quote(value);
}

class Rumprun final : public Guest {
public:
    std::string_view name() const override { return "rumprun"; }
    std::vector<std::string_view> monitors() const override { return {"hvt", "spt"}; }
    bool supports_block() const override { return true; }
    bool supports_fs(std::string_view fs) const override { return fs == "ext2"; }
    // Its root is the rumpfs inside the image: the container rootfs disk goes under /data.
    std::string_view rootfs_disk_mountpoint() const override { return "/data"; }

    std::string command_line(const GuestParams &p) const override
    {
        std::string out = "{" + member("cmdline", join_args(p.args));
        for (const auto &e : p.env)
            out += "," + member("env", e);
        // Upstream's "network present" test is a non-empty mask; keep it, and also require
        // an address (a mask alone cannot configure anything).
        const Net *net = guest_net(p);
        if (net && !net->mask.empty()) {
            std::string mask = "1";
            if (same_subnet(net->ip, net->gateway, net->mask))
                mask = std::to_string(prefix_or("rumprun", net->mask, 24));
            out += R"(,"net":{)" + member("if", "ukvmif0") + "," + member("cloner", "True") + "," +
                   member("type", "inet") + "," + member("method", "static") + "," +
                   member("addr", net->ip) + "," + member("mask", mask) + "," +
                   member("gw", net->gateway) + "}";
        }
        if (!p.blocks.empty())
            out += R"(,"blk":{)" + member("source", "etfs") + "," + member("path", "/dev/ld0a") +
                   "," + member("fstype", "blk") + "," +
                   member("mountpoint", p.blocks.front().mountpoint) + "}";
        return out + "}";
    }

    MonitorArgs monitor_args(const GuestParams &p) const override
    {
        MonitorArgs m;
        if (!p.vmm_traits.solo5_tender)  // its words are Solo5's
            return m;
        if (const Net *tap = guest_tap(p))
            m.net = {"--net:tap=" + tap->tap, "--net-mac:tap=" + tap->mac};
        // Solo5 attaches devices by manifest name and rumprun images declare one block
        // device, `rootfs`; further blocks cannot be named, so only the first is given.
        if (!p.blocks.empty())
            m.blocks.push_back({"rootfs", p.blocks.front().source, {}, p.blocks.front().readonly});
        return m;
    }
};

}  // namespace

const Guest &rumprun_guest()
{
    static const Rumprun g;
    return g;
}

}  // namespace urunc::unikernels
