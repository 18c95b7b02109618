// events of a unikernel: its VMM's cgroup statistics and OOM kills, in runc's JSON lines
// ({"type":"stats","id":...,"data":{...}} and {"type":"oom","id":...}).
#include "container/verbs.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "linux/cgroup.hpp"
#include "linux/cgroup_stats.hpp"
#include "container/state_store.hpp"

#include <chrono>
#include <thread>

namespace urunc::container {
using oci::RawCommand;
using oci::State;
using oci::Status;
using linux::cgroup_from_json;
using linux::cgroup_oom_kills;
using linux::cgroup_stats_json;

namespace {

std::string event(const char *type, const std::string &id, const std::string &data)
{
    // The id is a valid container id: no character needs escaping.
    std::string out = std::string(R"({"type":")") + type + R"(","id":")" + id + "\"";
    if (!data.empty())
        out += ",\"data\":" + data;
    return out + "}\n";
}

}  // namespace

long long parse_go_duration_ms(const std::string &s)
{
    if (s.empty())
        throw Error("invalid duration ``");
    double total_ms = 0;
    size_t i = 0;
    if (s == "0")
        return 0;
    while (i < s.size()) {
        size_t start = i;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
            ++i;
        if (start == i)
            throw Error("invalid duration `" + s + "`");
        double v;
        try {
            v = std::stod(s.substr(start, i - start));
        } catch (const std::exception &) {
            throw Error("invalid duration `" + s + "`");
        }
        size_t us = i;
        while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.')
            ++i;
        std::string unit = s.substr(us, i - us);
        double mult;
        if (unit == "ns")
            mult = 1e-6;
        else if (unit == "us" || unit == "µs")
            mult = 1e-3;
        else if (unit == "ms")
            mult = 1;
        else if (unit == "s")
            mult = 1000;
        else if (unit == "m")
            mult = 60000;
        else if (unit == "h")
            mult = 3600000;
        else
            throw Error("invalid duration `" + s + "`: unknown unit `" + unit + "`");
        total_ms += v * mult;
    }
    // Go's time.Duration is int64 nanoseconds: 9223372036854 ms at most. Rounded by hand, not
    // with std::llround: that one call was the only reason urunc loaded libm.
    if (!(total_ms <= 9223372036854.0))
        throw Error("invalid duration `" + s + "`: out of range");
    return static_cast<long long>(total_ms + 0.5);
}

int events(const Globals &g, const std::string &id, const RawCommand &c)
{
    long long interval = parse_go_duration_ms(c.flag("interval").value_or("5s"));
    if (interval <= 0)
        throw Error("duration interval must be greater than 0");
    std::string dir = g.root + "/" + id;
    State st = StateDir::open_unlocked_load(dir);
    if (live_status(st, dir) == Status::stopped)
        throw Error("container with id " + id + " is not running");
    if (st.cgroup.empty())
        throw Error("events: container " + id + " has no cgroup");
    auto dirs = cgroup_from_json(st.cgroup).all_dirs;
    bool stats = c.has("stats") && c.flag("stats") != "false";
    if (stats) {
        write_all(1, event("stats", id, cgroup_stats_json(dirs)), "stdout");
        return 0;
    }
    // Stream: stats every interval, an "oom" line as soon as the OOM-kill count grows
    // (checked every 100 ms or every interval, whichever is shorter), until the container
    // stops.
    using clock = std::chrono::steady_clock;
    auto step = std::chrono::milliseconds(std::min<long long>(interval, 100));
    auto next_stats = clock::now() + std::chrono::milliseconds(interval);
    uint64_t ooms = cgroup_oom_kills(dirs);
    for (;;) {
        std::this_thread::sleep_for(step);
        uint64_t now_ooms = cgroup_oom_kills(dirs);
        for (; ooms < now_ooms; ++ooms)
            write_all(1, event("oom", id, ""), "stdout");
        if (live_status(st, dir) == Status::stopped)
            return 0;
        if (clock::now() >= next_stats) {
            write_all(1, event("stats", id, cgroup_stats_json(dirs)), "stdout");
            next_stats += std::chrono::milliseconds(interval);
        }
    }
}

}  // namespace urunc::container
