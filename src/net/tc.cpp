#include "net/tc.hpp"

#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>

#include <arpa/inet.h>

#include <fmt/format.h>

namespace urunc::net {

namespace {

struct QdiscPut {
    void operator()(rtnl_qdisc *q) const noexcept { rtnl_qdisc_put(q); }
};
struct ClsPut {
    void operator()(rtnl_cls *c) const noexcept { rtnl_cls_put(c); }
};
struct ActPut {
    void operator()(rtnl_act *a) const noexcept { rtnl_act_put(a); }
};
struct CacheFree {
    void operator()(nl_cache *c) const noexcept { nl_cache_free(c); }
};

constexpr uint32_t ingress_handle = TC_HANDLE(0xffff, 0);

std::unique_ptr<rtnl_qdisc, QdiscPut> ingress_qdisc(int ifindex)
{
    std::unique_ptr<rtnl_qdisc, QdiscPut> q(rtnl_qdisc_alloc());
    if (!q)
        throw sys_error("allocate qdisc object", ENOMEM);
    rtnl_tc_set_ifindex(TC_CAST(q.get()), ifindex);
    rtnl_tc_set_parent(TC_CAST(q.get()), TC_H_INGRESS);
    rtnl_tc_set_handle(TC_CAST(q.get()), ingress_handle);
    if (int rc = rtnl_tc_set_kind(TC_CAST(q.get()), "ingress"); rc < 0)
        throw nl_error("select qdisc kind `ingress`", rc);
    return q;
}

}  // namespace

void add_ingress_qdisc(const NlSocket &s, const Link &link)
{
    auto q = ingress_qdisc(link.index);
    if (int rc = rtnl_qdisc_add(s.get(), q.get(), NLM_F_CREATE | NLM_F_EXCL); rc < 0)
        throw nl_error(fmt::format("add ingress qdisc on `{}`", link.name), rc);
}

int delete_ingress_qdisc(const NlSocket &s, int ifindex)
{
    try {
        auto q = ingress_qdisc(ifindex);
        return rtnl_qdisc_delete(s.get(), q.get());
    } catch (const Error &) {
        return -NLE_NOMEM;
    }
}

void add_redirect_filter(const NlSocket &s, const Link &from, const Link &to)
{
    const std::string what =
        fmt::format("add mirred redirect filter `{}` -> `{}`", from.name, to.name);

    std::unique_ptr<rtnl_act, ActPut> act(rtnl_act_alloc());
    std::unique_ptr<rtnl_cls, ClsPut> cls(rtnl_cls_alloc());
    if (!act || !cls)
        throw sys_error(what, ENOMEM);

    int rc = rtnl_tc_set_kind(TC_CAST(act.get()), "mirred");
    if (rc >= 0)
        rc = rtnl_mirred_set_action(act.get(), TCA_EGRESS_REDIR);
    if (rc >= 0)
        rc = rtnl_mirred_set_policy(act.get(), TC_ACT_STOLEN);
    if (rc >= 0)
        rc = rtnl_mirred_set_ifindex(act.get(), static_cast<uint32_t>(to.index));

    rtnl_tc_set_ifindex(TC_CAST(cls.get()), from.index);
    rtnl_tc_set_parent(TC_CAST(cls.get()), ingress_handle);
    rtnl_cls_set_protocol(cls.get(), ETH_P_ALL);
    if (rc >= 0)
        rc = rtnl_tc_set_kind(TC_CAST(cls.get()), "u32");
    // Key 0/0 at offset 0 matches every frame.
    if (rc >= 0)
        rc = rtnl_u32_add_key_uint32(cls.get(), 0, 0, 0, 0);
    if (rc >= 0)
        rc = rtnl_u32_set_cls_terminal(cls.get());
    if (rc >= 0)
        rc = rtnl_u32_add_action(cls.get(), act.get());  // takes its own reference
    if (rc < 0)
        throw nl_error(what, rc);
    if (rc = rtnl_cls_add(s.get(), cls.get(), NLM_F_CREATE | NLM_F_EXCL); rc < 0)
        throw nl_error(what, rc);
}

std::vector<int> ingress_redirect_targets(const NlSocket &s, int ifindex)
{
    nl_cache *raw = nullptr;
    if (int rc = rtnl_cls_alloc_cache(s.get(), ifindex, ingress_handle, &raw); rc < 0)
        throw nl_error(fmt::format("dump ingress filters of ifindex {}", ifindex), rc);
    std::unique_ptr<nl_cache, CacheFree> cache(raw);
    std::vector<int> out;
    for (nl_object *o = nl_cache_get_first(raw); o; o = nl_cache_get_next(o)) {
        auto *cls = reinterpret_cast<rtnl_cls *>(o);
        const char *kind = rtnl_tc_get_kind(TC_CAST(cls));
        if (!kind || std::string_view(kind) != "u32")
            continue;
        for (rtnl_act *a = rtnl_u32_get_action(cls); a; a = rtnl_act_next(a)) {
            const char *ak = rtnl_tc_get_kind(TC_CAST(a));
            if (ak && std::string_view(ak) == "mirred")
                out.push_back(static_cast<int>(rtnl_mirred_get_ifindex(a)));
        }
    }
    return out;
}

}  // namespace urunc::net
