// `update` of a container's cgroup limits in place (runc's update: memory, swap,
// reservation, CPU shares/quota/period, cpuset, pids), on the directories the container
// recorded at create. Each controller is found by its files, v1 first, then cgroup2.
#pragma once

#include "linux/namespace.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urunc::linux {

struct ResourceUpdate {
    std::optional<int64_t> memory;              // bytes; -1 = unlimited
    std::optional<int64_t> memory_swap;         // memory+swap bytes; -1 = unlimited
    std::optional<int64_t> memory_reservation;  // bytes
    std::optional<uint64_t> cpu_shares;
    std::optional<int64_t> cpu_quota;    // usec; -1 = unlimited
    std::optional<uint64_t> cpu_period;  // usec
    std::optional<std::string> cpuset_cpus, cpuset_mems;
    std::optional<int64_t> pids_limit;  // <= 0: unlimited (runc)
    // Asked for but not something urunc changes on a VMM (named in the refusal).
    std::vector<std::string> unsupported;

    bool empty() const;
};

// The LinuxResources JSON runc's `update --resources` reads (memory, cpu, pids, blockIO).
// Throws Error "update: resources JSON: <path>: <reason>".
ResourceUpdate parse_resources_json(std::string_view json);

// runc's size syntax for --memory etc.: bytes, or with a k/m/g/t/p suffix (powers of 1024,
// optional trailing "b"/"ib"), "-1" for unlimited. Throws Error naming the flag.
int64_t parse_size(const std::string &flag, const std::string &value);

// Write the limits. Throws Error naming the file on the first failure; an asked limit whose
// controller the container has no directory for is an error too.
void update_cgroup(const std::vector<std::string> &cgroup_dirs, const ResourceUpdate &u);

}  // namespace urunc::linux
