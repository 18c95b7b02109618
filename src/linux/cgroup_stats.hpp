// Statistics of a container's cgroup in runc's `events` JSON layout (the "data" object of a
// {"type":"stats"} event: cpu, memory, pids, ...), read from v1 controller files or cgroup2
// files, whichever the container's directories hold (v1 first, as runc on a hybrid host).
#pragma once

#include "linux/namespace.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace urunc::linux {

// The "data" object. Controllers without files contribute their empty/zero fields.
std::string cgroup_stats_json(const std::vector<std::string> &cgroup_dirs);

// OOM kills so far: v1 memory.oom_control "oom_kill", v2 memory.events "oom_kill" (0 when
// the kernel does not count them or the files are gone).
uint64_t cgroup_oom_kills(const std::vector<std::string> &cgroup_dirs);

}  // namespace urunc::linux
