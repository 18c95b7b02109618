// How much RAM and how many vCPUs the guest gets, and what the container's memory cgroup
// is set to, from the spec's resources and the host config. Pure arithmetic, no I/O: create
// (plan.cpp) and `urunc update` use the same functions. The policy, in words, is in
// docs/configuration.md, section 5.
//
// Memory: the VMM is the container's process, so its own memory (QEMU's heap, TCG's
// translation cache, device buffers, page tables) is charged to the same cgroup as the
// guest's RAM. A guest given the whole limit gets its VMM OOM-killed as soon as it uses its
// RAM. So, per VMM, a reserve (`[monitors.<name>] memory_overhead_mib`) is kept out of it:
//   reserve mode (default): cgroup = the spec's limit; guest = limit - reserve.
//   add mode:               cgroup = limit + reserve;  guest = limit (for orchestrators
//                           that account the overhead themselves, e.g. Kubernetes
//                           RuntimeClass overhead.podFixed).
// Without a limit (absent, 0 or -1) the guest gets the VMM's default RAM and the cgroup no
// limit, as runc would leave it.
//
// vCPUs: ceil(quota / period) when the spec sets a CPU quota, at least 1 and at most the
// host's CPUs; otherwise the VMM's default.
#pragma once

#include "oci/host_config.hpp"
#include "oci/spec.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace urunc::oci {

enum class OverheadMode {
    reserve,  // the VMM's reserve comes out of the limit
    add,      // the reserve is added to the cgroup's limit; the guest gets the whole limit
};

// "reserve" / "add" (the [runtime] memory_overhead values); false for anything else.
bool parse_overhead_mode(const std::string &s, OverheadMode &out);

struct MemoryPolicy {
    std::string vmm;             // for messages, e.g. "qemu"
    std::string guest;           // guest type, for messages, e.g. "linux"
    uint64_t overhead_mib = 0;   // the VMM's reserve
    uint64_t default_mib = 256;  // guest RAM without a limit
    uint64_t guest_min_mib = 1;  // smallest RAM the guest type boots with
    OverheadMode mode = OverheadMode::reserve;
    uint64_t host_mib = 0;  // the host's RAM; 0 = unknown (no check)
};

struct CpuPolicy {
    unsigned default_vcpus = 1;
    unsigned host_cpus = 1;  // online CPUs of the host (caller: sysconf)
};

struct MemoryDecision {
    uint64_t guest_mib = 0;  // the guest's RAM
    // Written to the container's cgroup: the spec's values, or raised by the reserve in add
    // mode. 0 = no limit (as in the spec), -1 = explicit "unlimited" kept as is.
    int64_t cgroup_limit = 0;
    int64_t cgroup_swap = 0;  // memory+swap, raised with the limit in add mode when set
};

// The guest's RAM and the cgroup's limits for a spec memory limit `limit` (bytes, 0 or < 0
// for none) and memory+swap `swap` (bytes, 0 for none). Throws Error when the limit is too
// small for the reserve plus the guest's minimum, naming both numbers.
MemoryDecision decide_memory(int64_t limit, int64_t swap, const MemoryPolicy &p);

// `urunc update` of a running guest, whose RAM cannot change: the memory cgroup limit for a
// new spec limit `limit` (bytes; 0 or < 0: none, returned as is). Throws Error when the new
// limit leaves the running guest's RAM plus the reserve without room (would OOM-kill it).
int64_t cgroup_limit_for_update(int64_t limit, uint64_t guest_mib, const MemoryPolicy &p);

// vCPUs for a CFS quota/period (microseconds; quota <= 0: none; period 0: the kernel's
// default 100000).
unsigned decide_vcpus(int64_t quota, uint64_t period, const CpuPolicy &p);

// The whole decision for one container, as create makes it.
struct GuestResources {
    uint64_t memory_mib = 0;  // guest RAM
    unsigned vcpus = 1;
    Resources cgroup;  // the spec's resources with the memory limits decided above
};

// The memory policy of VMM `vmm` for a guest type whose minimum is `guest_min_mib`, from
// the host config (for `urunc update`: the copy recorded in state.json at create). Throws
// Error on an unknown [runtime] memory_overhead.
MemoryPolicy memory_policy(const HostConfig &h, std::string_view vmm, std::string_view guest,
                           uint64_t guest_min_mib);

// decide_memory + decide_vcpus over a spec's resources (`urunc update` recomputes the
// running guest's RAM from the spec recorded at create the same way).
GuestResources guest_resources(const Resources &r, const MemoryPolicy &m, const CpuPolicy &c);

}  // namespace urunc::oci
