#include "net/guest_network.hpp"

#include "base/cleanup_errors.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "net/netlink.hpp"
#include "net/tap.hpp"
#include "net/tc.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

namespace urunc::net {

namespace {

struct ContainerIface {
    Link link;
    Ipv4Address addr;
    std::string gateway;
};

// Every link that could carry a guest, in ifindex order: not loopback, up, with an IPv4
// address and an IPv4 default route through it.
std::vector<ContainerIface> candidate_ifaces(const NlSocket &s, const std::vector<Link> &links)
{
    auto addrs = list_ipv4_addresses(s);
    auto routes = list_ipv4_main_routes(s);
    std::vector<ContainerIface> out;
    for (const auto &l : links) {
        if ((l.flags & IFF_LOOPBACK) || !(l.flags & IFF_UP))
            continue;
        auto a =
            std::find_if(addrs.begin(), addrs.end(), [&](auto &x) { return x.ifindex == l.index; });
        auto r = std::find_if(routes.begin(), routes.end(),
                              [&](auto &x) { return x.is_default() && x.ifindex == l.index; });
        if (a != addrs.end() && r != routes.end())
            out.push_back(ContainerIface{l, *a, r->gateway});
    }
    return out;
}

// The urunc tap the ingress filters of `link` redirect to, "" if none: the link already
// carries another container's guest.
std::string guest_of(const NlSocket &s, const std::vector<Link> &links, const Link &link)
{
    for (int t : ingress_redirect_targets(s, link.index))
        for (const auto &l : links)
            if (l.index == t && is_urunc_tap_name(l.name))
                return l.name;
    return "";
}

// FNV-1a, 64 bit: stable across runs and builds (std::hash is not), so the tap of a
// container id is predictable in logs.
uint64_t fnv1a(std::string_view text)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

constexpr unsigned kTapNumbers = 1000000;  // 6 digits: "tap" + 6 + "_urunc" = IFNAMSIZ - 1
constexpr unsigned kTapAttempts = 64;

// Undo on scope exit unless disarmed: the tap (which takes its own qdisc and filters with
// it) and the ingress qdisc on the container interface (which takes its filter with it).
class Undo {
public:
    explicit Undo(const NlSocket &s) : s_(s) {}
    Undo(const Undo &) = delete;
    Undo &operator=(const Undo &) = delete;
    ~Undo()
    {
        if (qdisc_ifindex_)
            delete_ingress_qdisc(s_, qdisc_ifindex_);
        if (!tap_.empty()) {
            try {
                if (auto l = find_link(s_, tap_))
                    delete_link(s_, l->index);
            } catch (const Error &) {
                // Nothing better to do in a destructor: the netns dies with the container.
            }
        }
    }
    void tap(std::string name) { tap_ = std::move(name); }
    void qdisc(int ifindex) { qdisc_ifindex_ = ifindex; }
    void disarm()
    {
        tap_.clear();
        qdisc_ifindex_ = 0;
    }

private:
    const NlSocket &s_;
    std::string tap_;
    int qdisc_ifindex_ = 0;
};

std::string resolv_conf_dns()
{
    try {
        return first_ipv4_nameserver(read_regular_file("/etc/resolv.conf", kMaxSmallFile));
    } catch (const Error &) {
        return "";  // no resolv.conf: the guest gets no DNS server, not an error
    }
}

}  // namespace

std::string guest_tap_name(std::string_view container_id, unsigned attempt)
{
    unsigned n = static_cast<unsigned>((fnv1a(container_id) + attempt) % kTapNumbers);
    return fmt::format("tap{:06}_urunc", n);
}

bool is_urunc_tap_name(std::string_view name)
{
    constexpr std::string_view prefix = "tap", suffix = "_urunc";
    if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) ||
        !name.ends_with(suffix))
        return false;
    auto digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string first_ipv4_nameserver(std::string_view resolv_conf)
{
    for (const auto &line : split(resolv_conf, '\n')) {
        auto words = split_ws(line);
        in_addr tmp{};
        // IPv6 servers are skipped: guest command lines (Unikraft, Linux ip=) take IPv4 only.
        if (words.size() >= 2 && words[0] == "nameserver" &&
            inet_pton(AF_INET, words[1].c_str(), &tmp) == 1)
            return words[1];
    }
    return "";
}

bool may_have_ipv4_default_route(std::string_view table)
{
    if (table.empty())
        return false;  // the kernel prints not even the header while no main table exists
    auto lines = split(table, '\n');
    if (!starts_with(lines.front(), "Iface\t"))
        return true;  // not the table we know: ask netlink
    for (size_t i = 1; i < lines.size(); ++i) {
        auto fields = split(lines[i], '\t');
        if (fields.size() > 1 && fields[1] == "00000000")
            return true;
    }
    return false;
}

std::optional<GuestNetwork> setup_guest_network(uint32_t uid, uint32_t gid,
                                                std::string_view container_id)
{
    try {
        // Most containers without a network have only lo: one read of the route table
        // answers that, where the netlink dumps below cost ~0.4 ms on the way to the VMM's
        // exec. Only procfs's own file counts (not a mask bound over it).
        const std::string routes_path = "/proc/thread-self/net/route";
        if (UniqueFd routes(::open(routes_path.c_str(), O_RDONLY | O_CLOEXEC)); routes) {
            struct statfs fs;
            if (::fstatfs(routes.get(), &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC &&
                !may_have_ipv4_default_route(read_fd(routes.get(), routes_path)))
                return std::nullopt;
        }
        NlSocket s;
        auto links = list_links(s);
        auto candidates = candidate_ifaces(s, links);
        if (candidates.empty())
            return std::nullopt;
        // One guest per interface: it owns the interface's address and MAC. Another
        // container's guest keeps its interface; this one takes the next free one.
        std::optional<ContainerIface> iface;
        std::vector<std::string> taken;
        for (auto &c : candidates) {
            if (auto g = guest_of(s, links, c.link); !g.empty()) {
                taken.push_back(fmt::format("`{}` carries `{}`", c.link.name, g));
                continue;
            }
            iface = std::move(c);
            break;
        }
        if (!iface)
            throw Error(fmt::format("no free container interface (one guest per interface): {}",
                                    join(taken, ", ")),
                        EEXIST);

        // A tap name of our own: the id's number, or the next one not taken. EBUSY from the
        // exclusive create is a tap of that name made since the dump (a concurrent start).
        Undo undo(s);
        std::string tap_name;
        for (unsigned attempt = 0; attempt < kTapAttempts && tap_name.empty(); ++attempt) {
            std::string name = guest_tap_name(container_id, attempt);
            if (std::any_of(links.begin(), links.end(), [&](auto &l) { return l.name == name; }))
                continue;
            try {
                create_persistent_tap(name, uid, gid);
                tap_name = name;
            } catch (const Error &e) {
                if (e.code() != EBUSY)
                    throw;
            }
        }
        if (tap_name.empty())
            throw Error(fmt::format("create tap: `{}` and the next {} names are all taken",
                                    guest_tap_name(container_id), kTapAttempts - 1),
                        EEXIST);
        undo.tap(tap_name);
        auto tap = find_link(s, tap_name);
        if (!tap)
            throw sys_error(fmt::format("look up tap `{}` after creating it", tap_name), ENODEV);
        set_link_up(s, *tap, iface->link.mtu);

        add_ingress_qdisc(s, *tap);
        add_ingress_qdisc(s, iface->link);
        undo.qdisc(iface->link.index);
        add_redirect_filter(s, iface->link, *tap);
        add_redirect_filter(s, *tap, iface->link);
        undo.disarm();

        return GuestNetwork{tap_name,        iface->addr.ip,  prefix_to_mask(iface->addr.prefixlen),
                            iface->gateway,  iface->link.mac, resolv_conf_dns(),
                            iface->link.mtu, iface->link.name};
    } catch (const Error &e) {
        throw wrap("set up guest network", e);
    }
}

std::string teardown_guest_network(const std::string &tap, const std::string &container_iface)
{
    if (tap.empty())
        return "";
    if (!is_urunc_tap_name(tap))
        return fmt::format("tear down guest network: refusing to delete `{}`, not a urunc tap",
                           tap);
    CleanupErrors errors;
    try {
        NlSocket s;
        auto links = list_links(s);
        auto by_name = [&](const std::string &n) {
            auto it =
                std::find_if(links.begin(), links.end(), [&](auto &l) { return l.name == n; });
            return it == links.end() ? std::optional<Link>() : std::optional<Link>(*it);
        };
        auto tap_link = by_name(tap);
        auto iface = container_iface.empty() ? std::nullopt : by_name(container_iface);

        // The container interface's ingress qdisc is ours when its filters redirect to our
        // tap, or to a device that no longer exists (a tap deleted behind our back): left in
        // place it would swallow all traffic and make the next setup fail with EEXIST.
        if (iface) {
            auto targets = ingress_redirect_targets(s, iface->index);
            auto ours = [&](int t) {
                return (tap_link && t == tap_link->index) ||
                       std::none_of(links.begin(), links.end(),
                                    [&](auto &l) { return l.index == t; });
            };
            if (!targets.empty() && std::all_of(targets.begin(), targets.end(), ours))
                if (int rc = delete_ingress_qdisc(s, iface->index); rc < 0)
                    errors.add(
                        nl_error(fmt::format("delete ingress qdisc on `{}`", iface->name), rc)
                            .what());
        }
        if (tap_link)
            if (int rc = delete_link(s, tap_link->index); rc < 0)
                errors.add(nl_error(fmt::format("delete tap `{}`", tap), rc).what());
    } catch (const Error &e) {
        errors.add(e.what());
    }
    return errors.str("tear down guest network");
}

}  // namespace urunc::net
