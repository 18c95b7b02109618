// What the spec asks of the container process beyond ids and capabilities, applied to the
// VMM (it is the container process): rlimits, oom_score_adj, namespaced sysctls, the LSM
// labels. Nothing is dropped silently: what cannot apply is refused or warned about.
#pragma once

#include "linux/namespace.hpp"

#include "oci/spec.hpp"

#include <map>
#include <set>
#include <string>
#include <string_view>

namespace urunc::linux {

// The namespace a sysctl lives in ("ipc", "network", "uts"), or "" when it is host-wide.
// As runc: the IPC ones (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*), net.*, and
// kernel.hostname / kernel.domainname.
std::string sysctl_namespace(std::string_view key);

// Each key must be well formed (dot-separated, no "/" or ".." component) and live in a
// namespace in `own` (the container's own, not the host's). Throws Error naming the key.
void validate_sysctls(const std::map<std::string, std::string> &sysctl,
                      const std::set<std::string> &own);

// Written through /proc/sys in the caller's (the container's) namespaces.
void write_sysctls(const std::map<std::string, std::string> &sysctl);

void apply_rlimits(const std::vector<oci::Rlimit> &rlimits);
void write_oom_score_adj(int value);

// At create: a label the host cannot apply (its LSM is off) is one warning line.
void check_lsm_labels(const oci::Spec &s);
// Before execve: the labels the VMM gets on exec, where the LSM is on.
void set_exec_labels(const oci::Spec &s);

}  // namespace urunc::linux
