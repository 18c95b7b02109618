// update of a unikernel's cgroup limits, as runc's update. The guest's memory and vCPU count
// were fixed when the VMM started: a memory limit below the guest's memory would only get
// the VMM OOM-killed as the guest touches its RAM, so it is refused.
#include "container/verbs.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "linux/cgroup.hpp"
#include "linux/cgroup_update.hpp"
#include "oci/host_config.hpp"
#include "oci/spec.hpp"
#include "container/state_store.hpp"
#include "oci/unikernel_config.hpp"

#include <unistd.h>

namespace urunc::container {
using oci::HostConfig;
using oci::MonitorConfig;
using oci::RawCommand;
using oci::Spec;
using oci::State;
using oci::Status;
using oci::host_config_from_json;
using oci::kAnnotationPrefix;
using oci::parse_spec;
using linux::ResourceUpdate;
using linux::cgroup_from_json;
using linux::parse_resources_json;
using linux::parse_size;
using linux::update_cgroup;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

ResourceUpdate from_flags(const RawCommand &c)
{
    ResourceUpdate u;
    auto size = [&](const char *flag, std::optional<int64_t> &out) {
        if (auto v = c.flag(flag))
            out = parse_size(std::string("--") + flag, *v);
    };
    auto integer = [&](const char *flag) -> std::optional<int64_t> {
        auto v = c.flag(flag);
        if (!v)
            return std::nullopt;
        try {
            size_t used = 0;
            long long n = std::stoll(*v, &used);
            if (used != v->size())
                throw std::invalid_argument("trailing");
            return n;
        } catch (const std::exception &) {
            throw Error(std::string("update: invalid value for --") + flag + ": `" + *v + "`");
        }
    };
    size("memory", u.memory);
    size("memory-swap", u.memory_swap);
    size("memory-reservation", u.memory_reservation);
    auto nonneg = [&](const char *flag) -> std::optional<uint64_t> {
        auto v = integer(flag);
        if (v && *v < 0)
            throw Error(std::string("update: invalid value for --") + flag +
                        ": must not be negative");
        return v ? std::optional<uint64_t>(static_cast<uint64_t>(*v)) : std::nullopt;
    };
    u.cpu_shares = nonneg("cpu-share");
    u.cpu_quota = integer("cpu-quota");
    u.cpu_period = nonneg("cpu-period");
    u.pids_limit = integer("pids-limit");
    if (auto v = c.flag("cpuset-cpus"))
        u.cpuset_cpus = *v;
    if (auto v = c.flag("cpuset-mems"))
        u.cpuset_mems = *v;
    for (const char *f :
         {"blkio-weight", "cpu-rt-period", "cpu-rt-runtime", "l3-cache-schema", "mem-bw-schema"})
        if (c.has(f))
            u.unsupported.push_back(std::string("--") + f);
    return u;
}

// The guest memory the VMM was started with (see plan.cpp: the spec's memory limit, else
// the monitor's default).
uint64_t guest_memory_bytes(const State &st, const std::string &dir)
{
    Spec spec = parse_spec(read_file(dir + "/config.json"), st.bundle);
    if (spec.resources.memory_limit > 0)
        return std::max<uint64_t>(1, static_cast<uint64_t>(spec.resources.memory_limit) / kMiB) *
               kMiB;
    HostConfig hc = st.host_config.empty() ? HostConfig{} : host_config_from_json(st.host_config);
    std::string vmm;
    if (auto it = st.annotations.find(std::string(kAnnotationPrefix) + "hypervisor");
        it != st.annotations.end())
        vmm = it->second;
    auto mit = hc.monitors.find(vmm);
    return (mit != hc.monitors.end() ? mit->second.default_memory_mib
                                     : MonitorConfig{}.default_memory_mib) *
           kMiB;
}

}  // namespace

int update(const Globals &g, const std::string &id, const RawCommand &c)
{
    ResourceUpdate u;
    if (auto r = c.flag("resources")) {
        // As runc: with --resources every other flag is ignored.
        std::string text = *r == "-" ? read_fd(0, "stdin") : read_file(*r);
        u = parse_resources_json(text);
    } else {
        u = from_flags(c);
    }
    if (!u.unsupported.empty()) {
        std::string what;
        for (const auto &x : u.unsupported)
            what += (what.empty() ? "" : ", ") + x;
        throw Error("update: " + what +
                    ": not supported for unikernel containers (urunc changes "
                    "memory, swap, CPU shares/quota/period, cpuset and pids limits)");
    }
    auto dir = StateDir::open(g.root, id);
    if (!dir || !dir->has_state())
        throw Error("container does not exist");
    State st = dir->load();
    Status s = live_status(st, dir->path());
    if (s == Status::stopped || s == Status::creating)
        throw Error("container not running");
    if (st.cgroup.empty())
        throw Error("update: container " + id + " has no cgroup");
    if (u.memory && *u.memory > 0) {
        uint64_t guest = guest_memory_bytes(st, dir->path());
        if (static_cast<uint64_t>(*u.memory) < guest)
            throw Error("update: memory limit " + std::to_string(*u.memory) +
                        " bytes is below the guest's memory (" + std::to_string(guest / kMiB) +
                        " MiB), which the VMM fixed at start and cannot "
                        "shrink live; recreate the container to change it");
    }
    update_cgroup(cgroup_from_json(st.cgroup).all_dirs, u);
    log::debug("container {}: cgroup limits updated", id);
    return 0;
}

}  // namespace urunc::container
