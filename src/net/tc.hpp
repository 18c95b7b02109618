// Traffic control for the tap <-> container interface mirror: an ingress qdisc on a device
// and a match-all u32 filter whose mirred action redirects every frame to the other device.
#pragma once

#include "net/netlink.hpp"

#include <vector>

namespace urunc::net {

// `tc qdisc add dev <link> ingress` (exclusive: an existing ingress/clsact qdisc is EEXIST).
void add_ingress_qdisc(const NlSocket &s, const Link &link);

// `tc filter add dev <from> parent ffff: protocol all u32 match u32 0 0
//  action mirred egress redirect dev <to>`.
void add_redirect_filter(const NlSocket &s, const Link &from, const Link &to);

// Delete the ingress qdisc of a device (its filters go with it). libnl code, 0 = ok.
int delete_ingress_qdisc(const NlSocket &s, int ifindex);

// ifindexes that the ingress filters of `ifindex` redirect to with mirred (dump order).
std::vector<int> ingress_redirect_targets(const NlSocket &s, int ifindex);

}  // namespace urunc::net
