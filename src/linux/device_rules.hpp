// The device cgroup, from linux.resources.devices: rules as cgroup v1 lines (devices.allow /
// devices.deny) and as the cgroup v2 eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) that does the
// same job there. Pure functions, unit-tested; place_in_cgroup() writes/attaches them.
//
// Semantics (those of cgroup v1, which the BPF program reproduces): rules apply in order; a
// rule on every device (type 'a', any major and minor) sets the default and forgets the rules
// before it; the other rules are exceptions, and the last exception that matches decides.
// An allow rule matches a request whose access bits it all grants; a deny rule matches a
// request that asks any bit it names.
#pragma once

#include "linux/namespace.hpp"

#include "oci/spec.hpp"

#include <linux/bpf.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace urunc::linux {

// "c 1:3 rwm", "a *:* rwm", "b 7:* m".
std::string device_rule_text(const oci::DeviceRule &r);

// One write each, in order: {"devices.deny", "a"} for a deny-all, {"devices.allow", "c 1:3 rwm"}...
struct V1DeviceWrite {
    const char *file;
    std::string line;
};
std::vector<V1DeviceWrite> v1_device_writes(const std::vector<oci::DeviceRule> &rules);

// The cgroup v2 program for the same rules (returns 1 = allow, 0 = deny).
std::vector<struct bpf_insn> device_bpf_program(const std::vector<oci::DeviceRule> &rules);

// An allow rule (rwm) for the node at `path` on the host (char or block), or throws Error.
oci::DeviceRule allow_node(const std::string &path);
oci::DeviceRule allow_node(char type, int64_t major, int64_t minor);

// Load `prog` and attach it to the cgroup2 directory `dir` (BPF_CGROUP_DEVICE). The
// attachment lives as long as the cgroup.
void attach_device_program(const std::string &dir, const std::vector<struct bpf_insn> &prog);

}  // namespace urunc::linux
