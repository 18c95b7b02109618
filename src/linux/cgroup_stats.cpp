#include "linux/cgroup_stats.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"

#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <limits>
#include <map>
#include <optional>

namespace urunc::linux {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::optional<std::string> try_read(const std::string &path)
{
    try {
        return read_file(path);
    } catch (const Error &) {
        return std::nullopt;
    }
}

// A number file; "max" (cgroup2) reads as the largest value, as runc reports it.
std::optional<uint64_t> num(const std::string &path)
{
    auto t = try_read(path);
    if (!t)
        return std::nullopt;
    std::string v(trim(*t));
    if (v == "max")
        return std::numeric_limits<uint64_t>::max();
    try {
        return std::stoull(v);
    } catch (const std::exception &) {
        return std::nullopt;
    }
}

// "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events).
std::map<std::string, uint64_t> keyed(const std::string &path)
{
    std::map<std::string, uint64_t> out;
    auto t = try_read(path);
    if (!t)
        return out;
    for (auto &line : split(*t, '\n')) {
        auto f = split_ws(line);
        if (f.size() != 2)
            continue;
        try {
            out[f[0]] = std::stoull(f[1]);
        } catch (const std::exception &) {
        }
    }
    return out;
}

std::vector<uint64_t> list(const std::string &path)
{
    std::vector<uint64_t> out;
    auto t = try_read(path);
    if (!t)
        return out;
    for (auto &w : split_ws(*t)) {
        try {
            out.push_back(std::stoull(w));
        } catch (const std::exception &) {
        }
    }
    return out;
}

// The first directory holding `file`.
std::optional<std::string> with(const std::vector<std::string> &dirs, const std::string &file)
{
    for (const auto &d : dirs)
        if (path_exists(d + "/" + file))
            return d;
    return std::nullopt;
}

void u64(Writer &w, const char *k, uint64_t v)
{
    w.Key(k);
    w.Uint64(v);
}

void u64_array(Writer &w, const char *k, const std::vector<uint64_t> &v)
{
    w.Key(k);
    w.StartArray();
    for (auto x : v)
        w.Uint64(x);
    w.EndArray();
}

void cpu(Writer &w, const std::vector<std::string> &dirs)
{
    w.Key("cpu");
    w.StartObject();
    w.Key("usage");
    w.StartObject();
    std::map<std::string, uint64_t> throttling;
    if (auto d = with(dirs, "cpuacct.usage")) {
        u64(w, "total", num(*d + "/cpuacct.usage").value_or(0));
        u64_array(w, "percpu", list(*d + "/cpuacct.usage_percpu"));
        if (path_exists(*d + "/cpuacct.usage_percpu_sys"))
            u64_array(w, "percpu_kernel", list(*d + "/cpuacct.usage_percpu_sys"));
        if (path_exists(*d + "/cpuacct.usage_percpu_user"))
            u64_array(w, "percpu_user", list(*d + "/cpuacct.usage_percpu_user"));
        // cpuacct.stat counts clock ticks; runc reports nanoseconds.
        auto st = keyed(*d + "/cpuacct.stat");
        uint64_t ns_per_tick = 1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
        u64(w, "kernel", st["system"] * ns_per_tick);
        u64(w, "user", st["user"] * ns_per_tick);
        if (auto c = with(dirs, "cpu.cfs_quota_us")) {
            auto s = keyed(*c + "/cpu.stat");
            if (s.count("nr_periods")) {
                throttling["periods"] = s["nr_periods"];
                throttling["throttled_periods"] = s["nr_throttled"];
                throttling["throttled_time"] = s["throttled_time"];
            }
        }
    } else if (auto d2 = with(dirs, "cgroup.controllers")) {
        auto s = keyed(*d2 + "/cpu.stat");  // usec on cgroup2
        u64(w, "total", s["usage_usec"] * 1000);
        u64(w, "kernel", s["system_usec"] * 1000);
        u64(w, "user", s["user_usec"] * 1000);
        if (s.count("nr_periods")) {
            throttling["periods"] = s["nr_periods"];
            throttling["throttled_periods"] = s["nr_throttled"];
            throttling["throttled_time"] = s["throttled_usec"] * 1000;
        }
    } else {
        u64(w, "kernel", 0);
        u64(w, "user", 0);
    }
    w.EndObject();
    w.Key("throttling");
    w.StartObject();
    for (const auto &[k, v] : throttling)
        u64(w, k.c_str(), v);
    w.EndObject();
    w.EndObject();
}

void mem_entry(Writer &w, const char *k, uint64_t limit, uint64_t usage, uint64_t max,
               uint64_t failcnt, bool with_usage = true)
{
    w.Key(k);
    w.StartObject();
    u64(w, "limit", limit);
    if (with_usage) {
        u64(w, "usage", usage);
        u64(w, "max", max);
    }
    u64(w, "failcnt", failcnt);
    w.EndObject();
}

void raw(Writer &w, const std::map<std::string, uint64_t> &stat)
{
    w.Key("raw");
    w.StartObject();
    for (const auto &[k, v] : stat)
        u64(w, k.c_str(), v);
    w.EndObject();
}

void memory(Writer &w, const std::vector<std::string> &dirs)
{
    w.Key("memory");
    w.StartObject();
    if (auto d = with(dirs, "memory.usage_in_bytes")) {
        auto f = [&](const char *name) { return num(*d + "/" + name).value_or(0); };
        mem_entry(w, "usage", f("memory.limit_in_bytes"), f("memory.usage_in_bytes"),
                  f("memory.max_usage_in_bytes"), f("memory.failcnt"));
        if (path_exists(*d + "/memory.memsw.usage_in_bytes"))
            mem_entry(w, "swap", f("memory.memsw.limit_in_bytes"), f("memory.memsw.usage_in_bytes"),
                      f("memory.memsw.max_usage_in_bytes"), f("memory.memsw.failcnt"));
        if (path_exists(*d + "/memory.kmem.usage_in_bytes"))
            mem_entry(w, "kernel", f("memory.kmem.limit_in_bytes"), f("memory.kmem.usage_in_bytes"),
                      f("memory.kmem.max_usage_in_bytes"), f("memory.kmem.failcnt"));
        if (path_exists(*d + "/memory.kmem.tcp.limit_in_bytes"))
            mem_entry(w, "kernelTCP", f("memory.kmem.tcp.limit_in_bytes"), 0, 0,
                      f("memory.kmem.tcp.failcnt"), false);
        raw(w, keyed(*d + "/memory.stat"));
    } else if (auto d2 = with(dirs, "memory.current")) {
        auto f = [&](const char *name) { return num(*d2 + "/" + name).value_or(0); };
        auto events = keyed(*d2 + "/memory.events");
        mem_entry(w, "usage", f("memory.max"), f("memory.current"), f("memory.peak"),
                  events["max"]);
        if (path_exists(*d2 + "/memory.swap.current"))
            mem_entry(w, "swap", f("memory.swap.max"),
                      f("memory.swap.current") + f("memory.current"), 0, 0);
        raw(w, keyed(*d2 + "/memory.stat"));
    }
    w.EndObject();
}

void pids(Writer &w, const std::vector<std::string> &dirs)
{
    w.Key("pids");
    w.StartObject();
    if (auto d = with(dirs, "pids.current")) {
        u64(w, "current", num(*d + "/pids.current").value_or(0));
        auto limit = num(*d + "/pids.max");
        // runc leaves the limit out when there is none ("max").
        if (limit && *limit != std::numeric_limits<uint64_t>::max() && *limit != 0)
            u64(w, "limit", *limit);
    }
    w.EndObject();
}

}  // namespace

std::string cgroup_stats_json(const std::vector<std::string> &cgroup_dirs)
{
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    cpu(w, cgroup_dirs);
    memory(w, cgroup_dirs);
    pids(w, cgroup_dirs);
    for (const char *empty : {"blkio", "hugetlb", "intel_rdt"}) {
        w.Key(empty);
        w.StartObject();
        w.EndObject();
    }
    w.Key("network_interfaces");
    w.Null();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

uint64_t cgroup_oom_kills(const std::vector<std::string> &cgroup_dirs)
{
    if (auto d = with(cgroup_dirs, "memory.oom_control"))
        return keyed(*d + "/memory.oom_control")["oom_kill"];
    if (auto d = with(cgroup_dirs, "memory.events"))
        return keyed(*d + "/memory.events")["oom_kill"];
    return 0;
}

}  // namespace urunc::linux
