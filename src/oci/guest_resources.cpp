#include "oci/guest_resources.hpp"

#include "base/error.hpp"

#include <unistd.h>

#include <algorithm>
#include <limits>

namespace urunc::oci {
namespace {

constexpr int64_t kMiB = 1024 * 1024;
constexpr uint64_t kDefaultCfsPeriod = 100000;  // the kernel's cpu.cfs_period_us default

std::string mib(uint64_t n) { return std::to_string(n) + " MiB"; }

std::string reserve_key(const MemoryPolicy &p)
{
    return "[monitors." + p.vmm + "] memory_overhead_mib";
}

// limit + MiB * add, refusing to overflow the cgroup's int64.
int64_t raised(int64_t limit, uint64_t add_mib, const char *what)
{
    if (add_mib > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / kMiB) ||
        limit > std::numeric_limits<int64_t>::max() - static_cast<int64_t>(add_mib) * kMiB)
        throw Error(std::string(what) + " plus the VMM's overhead reserve overflows");
    return limit + static_cast<int64_t>(add_mib) * kMiB;
}

// A limit far above the host's RAM (e.g. INT64_MAX) is no limit for a cgroup, but the guest
// would be given all of it: the VMM would fail to map it, or overcommit the host.
void check_host_ram(uint64_t guest_mib, const MemoryPolicy &p)
{
    if (p.host_mib && guest_mib > p.host_mib)
        throw Error("memory limit (linux.resources.memory.limit) would give the guest " +
                    mib(guest_mib) + " of RAM, more than the host's " + mib(p.host_mib));
}

}  // namespace

bool parse_overhead_mode(const std::string &s, OverheadMode &out)
{
    if (s == "reserve")
        out = OverheadMode::reserve;
    else if (s == "add")
        out = OverheadMode::add;
    else
        return false;
    return true;
}

MemoryDecision decide_memory(int64_t limit, int64_t swap, const MemoryPolicy &p)
{
    MemoryDecision d;
    d.cgroup_limit = limit;
    d.cgroup_swap = swap;
    if (limit <= 0) {
        d.guest_mib = p.default_mib;
        return d;
    }
    const uint64_t limit_mib = static_cast<uint64_t>(limit / kMiB);
    if (p.mode == OverheadMode::add) {
        if (limit_mib < p.guest_min_mib)
            throw Error("memory limit " + mib(limit_mib) +
                        " (linux.resources.memory.limit) is below the " + p.guest +
                        " guest's minimum of " + mib(p.guest_min_mib));
        d.guest_mib = limit_mib;
        check_host_ram(d.guest_mib, p);
        d.cgroup_limit = raised(limit, p.overhead_mib, "the memory limit");
        if (swap > 0)
            d.cgroup_swap = raised(swap, p.overhead_mib, "the memory+swap limit");
        return d;
    }
    const uint64_t need = p.overhead_mib + p.guest_min_mib;
    if (limit_mib < need)
        throw Error("memory limit " + mib(limit_mib) +
                    " (linux.resources.memory.limit) is too small for a " + p.guest + " guest on " +
                    p.vmm + ": it must hold the VMM's overhead reserve of " + mib(p.overhead_mib) +
                    " (" + reserve_key(p) + ") plus the guest's minimum of " +
                    mib(p.guest_min_mib) + ", " + mib(need) + " in all");
    d.guest_mib = limit_mib - p.overhead_mib;
    check_host_ram(d.guest_mib, p);
    return d;
}

int64_t cgroup_limit_for_update(int64_t limit, uint64_t guest_mib, const MemoryPolicy &p)
{
    if (limit <= 0)
        return limit;
    const uint64_t limit_mib = static_cast<uint64_t>(limit / kMiB);
    if (p.mode == OverheadMode::add) {
        if (limit_mib < guest_mib)
            throw Error("memory limit " + mib(limit_mib) + " is below the running guest's RAM of " +
                        mib(guest_mib) + " (fixed when it was created)");
        return raised(limit, p.overhead_mib, "the memory limit");
    }
    const uint64_t need = guest_mib + p.overhead_mib;
    if (limit_mib < need)
        throw Error("memory limit " + mib(limit_mib) +
                    " is too small for the running guest: its RAM of " + mib(guest_mib) +
                    " (fixed when it was created) plus the VMM's overhead reserve of " +
                    mib(p.overhead_mib) + " (" + reserve_key(p) + ") is " + mib(need));
    return limit;
}

unsigned decide_vcpus(int64_t quota, uint64_t period, const CpuPolicy &p)
{
    if (quota <= 0)
        return std::max(1u, p.default_vcpus);
    if (period == 0)
        period = kDefaultCfsPeriod;
    const uint64_t q = static_cast<uint64_t>(quota);
    const uint64_t n = q / period + (q % period ? 1 : 0);
    return static_cast<unsigned>(std::clamp<uint64_t>(n, 1, std::max(1u, p.host_cpus)));
}

MemoryPolicy memory_policy(const HostConfig &h, std::string_view vmm, std::string_view guest,
                           uint64_t guest_min_mib)
{
    MemoryPolicy p;
    p.vmm = std::string(vmm);
    p.guest = std::string(guest);
    p.guest_min_mib = guest_min_mib;
    long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0)
        p.host_mib = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / kMiB;
    auto it = h.monitors.find(p.vmm);
    const MonitorConfig mc = it != h.monitors.end() ? it->second : MonitorConfig{};
    p.overhead_mib = mc.memory_overhead_mib;
    p.default_mib = mc.default_memory_mib;
    if (!parse_overhead_mode(h.runtime.memory_overhead, p.mode))
        throw Error("[runtime] memory_overhead: `" + h.runtime.memory_overhead +
                    "` is not one of reserve, add");
    return p;
}

GuestResources guest_resources(const Resources &r, const MemoryPolicy &m, const CpuPolicy &c)
{
    GuestResources g;
    MemoryDecision d = decide_memory(r.memory_limit, r.memory_swap, m);
    g.memory_mib = d.guest_mib;
    g.vcpus = decide_vcpus(r.cpu_quota, r.cpu_period, c);
    g.cgroup = r;
    g.cgroup.memory_limit = d.cgroup_limit;
    g.cgroup.memory_swap = d.cgroup_swap;
    return g;
}

}  // namespace urunc::oci
