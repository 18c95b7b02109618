#include "net/netlink.hpp"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <fmt/format.h>

namespace urunc::net {

namespace {

struct CacheFree {
    void operator()(nl_cache *c) const noexcept { nl_cache_free(c); }
};
using Cache = std::unique_ptr<nl_cache, CacheFree>;

struct LinkPut {
    void operator()(rtnl_link *l) const noexcept { rtnl_link_put(l); }
};
using LinkObj = std::unique_ptr<rtnl_link, LinkPut>;

// Dotted text of an IPv4 nl_addr; "" if absent or not IPv4.
std::string ipv4_text(nl_addr *a)
{
    if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4)
        return "";
    char buf[INET_ADDRSTRLEN];
    if (!inet_ntop(AF_INET, nl_addr_get_binary_addr(a), buf, sizeof buf))
        return "";
    return buf;
}

template <typename F> void for_each(nl_cache *cache, F &&f)
{
    for (nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
        f(o);
}

}  // namespace

int nl_to_errno(int nlerr)
{
    switch (nlerr < 0 ? -nlerr : nlerr) {
    case NLE_SUCCESS: return 0;
    case NLE_INTR: return EINTR;
    case NLE_BAD_SOCK: return EBADF;
    case NLE_AGAIN: return EAGAIN;
    case NLE_NOMEM: return ENOMEM;
    case NLE_EXIST: return EEXIST;
    case NLE_INVAL: return EINVAL;
    case NLE_RANGE: return ERANGE;
    case NLE_MSGSIZE: return EMSGSIZE;
    case NLE_OPNOTSUPP: return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
    case NLE_OBJ_NOTFOUND: return ENOENT;
    case NLE_NOADDR: return EADDRNOTAVAIL;
    case NLE_BUSY: return EBUSY;
    case NLE_NOACCESS: return EACCES;
    case NLE_PERM: return EPERM;
    case NLE_NODEV: return ENODEV;
    default: return EPROTO;
    }
}

Error nl_error(std::string_view context, int nlerr)
{
    int err = nl_to_errno(nlerr);
    // EPROTO stands for "libnl-specific"; its own text says more than strerror would.
    if (err == EPROTO)
        return Error(fmt::format("{}: {}", context, nl_geterror(nlerr)), err);
    return sys_error(context, err);
}

void NlSocket::Free::operator()(nl_sock *s) const noexcept { nl_socket_free(s); }

NlSocket::NlSocket() : sock_(nl_socket_alloc())
{
    if (!sock_)
        throw sys_error("allocate netlink socket", ENOMEM);
    if (int rc = nl_connect(sock_.get(), NETLINK_ROUTE); rc < 0)
        throw nl_error("connect rtnetlink socket", rc);
}

std::vector<Link> list_links(const NlSocket &s)
{
    nl_cache *raw = nullptr;
    if (int rc = rtnl_link_alloc_cache(s.get(), AF_UNSPEC, &raw); rc < 0)
        throw nl_error("dump links", rc);
    Cache cache(raw);
    std::vector<Link> out;
    for_each(cache.get(), [&](nl_object *o) {
        auto *l = reinterpret_cast<rtnl_link *>(o);
        Link link{rtnl_link_get_ifindex(l), rtnl_link_get_name(l) ? rtnl_link_get_name(l) : "",
                  rtnl_link_get_flags(l), rtnl_link_get_mtu(l), ""};
        if (nl_addr *a = rtnl_link_get_addr(l); a && nl_addr_get_len(a) == 6) {
            char buf[32];
            link.mac = nl_addr2str(a, buf, sizeof buf);
        }
        out.push_back(std::move(link));
    });
    return out;
}

std::optional<Link> find_link(const NlSocket &s, const std::string &name)
{
    for (auto &l : list_links(s))
        if (l.name == name)
            return l;
    return std::nullopt;
}

std::vector<Ipv4Address> list_ipv4_addresses(const NlSocket &s)
{
    nl_cache *raw = nullptr;
    if (int rc = rtnl_addr_alloc_cache(s.get(), &raw); rc < 0)
        throw nl_error("dump addresses", rc);
    Cache cache(raw);
    std::vector<Ipv4Address> out;
    for_each(cache.get(), [&](nl_object *o) {
        auto *a = reinterpret_cast<rtnl_addr *>(o);
        if (rtnl_addr_get_family(a) != AF_INET)
            return;
        std::string ip = ipv4_text(rtnl_addr_get_local(a));
        if (!ip.empty())
            out.push_back(
                {rtnl_addr_get_ifindex(a), ip, static_cast<unsigned>(rtnl_addr_get_prefixlen(a))});
    });
    return out;
}

std::vector<Ipv4Route> list_ipv4_main_routes(const NlSocket &s)
{
    nl_cache *raw = nullptr;
    if (int rc = rtnl_route_alloc_cache(s.get(), AF_INET, 0, &raw); rc < 0)
        throw nl_error("dump IPv4 routes", rc);
    Cache cache(raw);
    std::vector<Ipv4Route> out;
    for_each(cache.get(), [&](nl_object *o) {
        auto *r = reinterpret_cast<rtnl_route *>(o);
        if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST ||
            rtnl_route_get_nnexthops(r) < 1)
            return;
        rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
        nl_addr *dst = rtnl_route_get_dst(r);
        out.push_back({rtnl_route_nh_get_ifindex(nh), ipv4_text(rtnl_route_nh_get_gateway(nh)),
                       dst ? nl_addr_get_prefixlen(dst) : 0u});
    });
    return out;
}

void set_link_up(const NlSocket &s, const Link &link, unsigned mtu)
{
    rtnl_link *raw = nullptr;
    if (int rc = rtnl_link_get_kernel(s.get(), link.index, nullptr, &raw); rc < 0)
        throw nl_error(fmt::format("look up link `{}`", link.name), rc);
    LinkObj orig(raw);
    LinkObj change(rtnl_link_alloc());
    if (!change)
        throw sys_error("allocate link object", ENOMEM);
    if (mtu)
        rtnl_link_set_mtu(change.get(), mtu);
    rtnl_link_set_flags(change.get(), IFF_UP);
    if (int rc = rtnl_link_change(s.get(), orig.get(), change.get(), 0); rc < 0)
        throw nl_error(fmt::format("set link `{}` up (mtu {})", link.name, mtu), rc);
}

int delete_link(const NlSocket &s, int ifindex)
{
    LinkObj l(rtnl_link_alloc());
    if (!l)
        return -NLE_NOMEM;
    rtnl_link_set_ifindex(l.get(), ifindex);
    return rtnl_link_delete(s.get(), l.get());
}

std::string prefix_to_mask(unsigned prefixlen)
{
    uint32_t m = prefixlen == 0    ? 0
                 : prefixlen >= 32 ? 0xffffffffu
                                   : ~((1u << (32 - prefixlen)) - 1);
    return fmt::format("{}.{}.{}.{}", m >> 24, (m >> 16) & 0xff, (m >> 8) & 0xff, m & 0xff);
}

}  // namespace urunc::net
