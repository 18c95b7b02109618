#include "unikernels/common.hpp"

#include "base/error.hpp"
#include "base/strings.hpp"

#include <bit>

namespace urunc::unikernels {

const Net *guest_net(const GuestParams &p)
{
    return p.net && !p.net->ip.empty() ? &*p.net : nullptr;
}

const Net *guest_tap(const GuestParams &p)
{
    return p.net && !p.net->tap.empty() ? &*p.net : nullptr;
}

std::optional<uint32_t> parse_ipv4(std::string_view s)
{
    uint32_t addr = 0;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (s.empty() || s.front() != '.')
                return std::nullopt;
            s.remove_prefix(1);
        }
        size_t n = 0;
        unsigned v = 0;
        while (n < s.size() && n < 3 && s[n] >= '0' && s[n] <= '9')
            v = v * 10 + static_cast<unsigned>(s[n++] - '0');
        if (n == 0 || v > 255)
            return std::nullopt;
        s.remove_prefix(n);
        addr = (addr << 8) | v;
    }
    if (!s.empty())
        return std::nullopt;
    return addr;
}

std::optional<int> mask_prefix(std::string_view dotted)
{
    auto m = parse_ipv4(dotted);
    if (!m)
        return std::nullopt;
    int ones = std::countl_one(*m);
    // contiguous: every bit after the leading ones is zero
    if (ones < 32 && (*m << ones) != 0)
        return std::nullopt;
    return ones;
}

int prefix_or(std::string_view guest, std::string_view mask, int fallback)
{
    if (mask.empty())
        return fallback;
    auto prefix = mask_prefix(mask);
    if (!prefix)
        throw Error(std::string(guest) + ": invalid netmask `" + std::string(mask) + "`");
    return *prefix;
}

bool same_subnet(std::string_view ip, std::string_view gw, std::string_view mask)
{
    auto a = parse_ipv4(ip);
    auto g = parse_ipv4(gw);
    auto m = parse_ipv4(mask);
    if (!a || !g || !m)
        return true;
    return (*a & *m) == (*g & *m);
}

std::string join_args(const std::vector<std::string> &args) { return join(args, " "); }

}  // namespace urunc::unikernels
