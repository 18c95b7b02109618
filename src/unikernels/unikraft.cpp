// Unikraft guest.
//
// Command line: printf("%s %s %s %s %s %s %s -- %s", "Unikraft", console, env, address,
// gateway, mask, vfs, command), as upstream. Empty fields leave their separating spaces in
// place; we keep that spacing byte for byte (Unikraft's argument parser skips runs of
// blanks, and keeping it lets our lines be compared verbatim with upstream traces).
//
// Version switch at 0.16.1 (com.urunc.unikernel.unikernelVersion): >= 0.16.1, empty or
// unparseable -> "current" form (netdev.ip=..., vfs.fstab=...); older -> "compat" form
// (netdev.ipv4_*=..., vfs.rootfs=initrd, environment dropped: old Unikraft has no
// env.vars). Empty/unparseable versions are reported through warnings(), not errors.
//
// Deliberate decisions (differences from upstream urunc):
// - No network -> no netdev words at all. Upstream emitted `netdev.ip=/24::8.8.8.8`
//   (and empty ipv4_* words in compat form) for a guest without network.
// - The prefix length comes from Net::mask (upstream once hard-coded /24); /24 is only the
//   fallback when the mask is empty. A mask that is not contiguous is an error.
// - DNS comes from Net::dns; 8.8.8.8 only as the default when there is a network.
#include "unikernels/common.hpp"
#include "unikernels/guests.hpp"

#include "base/strings.hpp"

#include <array>
#include <cctype>

namespace urunc::unikernels {
namespace {

enum class VersionForm { undefined, unparseable, current, compat };

// Loose semantic version as hashicorp/go-version reads it: optional `v`, dotted numeric
// segments, optional pre-release (`-rc1`, `beta`), optional `+metadata`.
struct Version {
    std::array<unsigned long, 3> seg{};
    bool prerelease = false;
};

std::optional<Version> parse_version(std::string_view s)
{
    if (!s.empty() && s.front() == 'v')
        s.remove_prefix(1);
    Version v;
    size_t nseg = 0;
    for (;;) {
        size_t n = 0;
        unsigned long x = 0;
        while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) {
            if (x < 100000000)  // saturate: no real version segment is that large
                x = x * 10 + static_cast<unsigned long>(s[n] - '0');
            ++n;
        }
        if (n == 0)
            return std::nullopt;
        if (nseg < v.seg.size())
            v.seg[nseg] = x;
        ++nseg;
        s.remove_prefix(n);
        if (s.size() >= 2 && s.front() == '.' && std::isdigit(static_cast<unsigned char>(s[1])))
            s.remove_prefix(1);
        else
            break;
    }
    auto word_char = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '~';
    };
    if (!s.empty() && s.front() != '+') {
        if (s.front() == '-')
            s.remove_prefix(1);
        size_t n = 0;
        while (n < s.size() && word_char(s[n]))
            ++n;
        if (n == 0)
            return std::nullopt;
        v.prerelease = true;
        s.remove_prefix(n);
    }
    if (!s.empty()) {
        s.remove_prefix(1);  // '+'
        if (s.empty())
            return std::nullopt;
        for (char c : s)
            if (!word_char(c))
                return std::nullopt;
    }
    return v;
}

VersionForm version_form(std::string_view version)
{
    if (version.empty())
        return VersionForm::undefined;
    auto v = parse_version(version);
    if (!v)
        return VersionForm::unparseable;
    constexpr std::array<unsigned long, 3> compat{0, 16, 1};
    if (v->seg != compat)
        return v->seg > compat ? VersionForm::current : VersionForm::compat;
    return v->prerelease ? VersionForm::compat : VersionForm::current;  // 0.16.1-rc < 0.16.1
}

class Unikraft final : public Guest {
public:
    std::string_view name() const override { return "unikraft"; }
    std::vector<std::string_view> monitors() const override { return {"qemu", "firecracker"}; }
    bool supports_block() const override { return false; }
    bool supports_fs(std::string_view fs) const override { return fs == "9pfs"; }

    std::string command_line(const GuestParams &p) const override
    {
        const bool compat = version_form(p.version) == VersionForm::compat;
        const Net *net = guest_net(p);
        std::string console = p.arch == "aarch64" ? "console=ttyS0" : "";
        std::string env, address, gateway, mask, vfs;
        if (!p.env.empty() && !compat)
            env = "env.vars=[ " + join(p.env, " ") + " ]";
        if (compat) {
            if (net) {
                address = "netdev.ipv4_addr=" + net->ip;
                gateway = "netdev.ipv4_gw_addr=" + net->gateway;
                mask = "netdev.ipv4_subnet_mask=" + net->mask;
            }
            if (p.rootfs == RootfsKind::initrd)
                vfs = "vfs.rootfs=initrd";
        } else {
            if (net) {
                int prefix = prefix_or("unikraft", net->mask, 24);
                std::string dns = net->dns.empty() ? "8.8.8.8" : net->dns;
                address = "netdev.ip=" + net->ip + "/" + std::to_string(prefix) + ":" +
                          net->gateway + ":" + dns;
            }
            if (p.rootfs == RootfsKind::initrd)
                vfs = R"(vfs.fstab=[ "initrd0:/:extract:::" ])";
            else if (p.rootfs == RootfsKind::ninep)
                vfs = R"(vfs.fstab=[ "fs0:/:9pfs:::" ])";
        }
        return "Unikraft " + console + " " + env + " " + address + " " + gateway + " " + mask +
               " " + vfs + " -- " + join_args(p.args);
    }

    MonitorArgs monitor_args(const GuestParams &) const override { return {}; }

    std::vector<std::string> warnings(const GuestParams &p) const override
    {
        switch (version_form(p.version)) {
        case VersionForm::undefined:
            return {"unikraft: unikernelVersion is not set, using the >= 0.16.1 command line"};
        case VersionForm::unparseable:
            return {"unikraft: cannot parse unikernelVersion `" + p.version +
                    "`, using the >= 0.16.1 command line"};
        default: return {};
        }
    }
};

}  // namespace

const Guest &unikraft_guest()
{
    static const Unikraft g;
    return g;
}

}  // namespace urunc::unikernels
