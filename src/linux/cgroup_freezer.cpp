#include "linux/cgroup_freezer.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace urunc::linux {
namespace {

std::string read_value(const std::string &path) { return std::string(trim(read_file(path))); }

void write_value(const std::string &path, const std::string &value)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd)
        throw sys_error("open `" + path + "`");
    if (::write(fd.get(), value.data(), value.size()) < 0)
        throw sys_error("write " + value + " to `" + path + "`");
}

// "frozen 1" in a cgroup2 cgroup.events file.
bool v2_events_frozen(const std::string &dir, bool want)
{
    for (auto &line : split(read_file(dir + "/cgroup.events"), '\n')) {
        auto f = split_ws(line);
        if (f.size() == 2 && f[0] == "frozen")
            return (f[1] == "1") == want;
    }
    return false;
}

// Poll `done` until it holds or the deadline passes. The kernel gives no completion
// notification on v1; the freeze of a few tasks takes microseconds to milliseconds.
template <class F> bool wait_until(F done, int timeout_ms)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    auto step = std::chrono::microseconds(200);
    for (;;) {
        if (done())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(step);
        if (step < std::chrono::milliseconds(20))
            step *= 2;
    }
}

void set_state(const Freezer &f, bool frozen, int timeout_ms)
{
    for (const auto &dir : f.dirs) {
        if (f.kind == Freezer::Kind::v1) {
            const std::string file = dir + "/freezer.state";
            const char *want = frozen ? "FROZEN" : "THAWED";
            write_value(file, want);
            // As runc: a freeze can stall in FREEZING (a task in an uninterruptible sleep);
            // writing FROZEN again retries it.
            bool ok = wait_until(
                [&] {
                    if (read_value(file) == want)
                        return true;
                    if (frozen)
                        write_value(file, want);
                    return false;
                },
                timeout_ms);
            if (!ok)
                throw Error("freezer `" + file + "`: still " + read_value(file) + " after " +
                            std::to_string(timeout_ms) + " ms, wanted " + want);
        } else {
            write_value(dir + "/cgroup.freeze", frozen ? "1" : "0");
            if (!wait_until([&] { return v2_events_frozen(dir, frozen); }, timeout_ms))
                throw Error("freezer `" + dir + "/cgroup.events`: frozen did not become " +
                            (frozen ? "1" : "0") + " within " + std::to_string(timeout_ms) + " ms");
        }
    }
}

}  // namespace

Freezer find_freezer(const std::vector<std::string> &cgroup_dirs)
{
    Freezer f;
    for (const auto &d : cgroup_dirs)
        if (path_exists(d + "/freezer.state")) {
            f.kind = Freezer::Kind::v1;
            f.dirs.push_back(d);
        }
    if (!f.dirs.empty())
        return f;
    for (const auto &d : cgroup_dirs)
        if (path_exists(d + "/cgroup.freeze")) {
            f.kind = Freezer::Kind::v2;
            f.dirs.push_back(d);
        }
    return f;
}

bool is_frozen(const Freezer &f)
{
    if (f.kind == Freezer::Kind::none || f.dirs.empty())
        return false;
    for (const auto &dir : f.dirs) {
        try {
            if (f.kind == Freezer::Kind::v1) {
                // FREEZING counts: a pause in progress or stalled is not "running" any more.
                std::string s = read_value(dir + "/freezer.state");
                if (s != "FROZEN" && s != "FREEZING")
                    return false;
            } else if (read_value(dir + "/cgroup.freeze") != "1") {
                return false;
            }
        } catch (const Error &) {
            return false;
        }
    }
    return true;
}

void freeze(const Freezer &f, int timeout_ms)
{
    if (f.kind == Freezer::Kind::none || f.dirs.empty())
        throw Error("no cgroup freezer for this container (neither a v1 freezer hierarchy nor "
                    "cgroup2 cgroup.freeze)");
    try {
        set_state(f, true, timeout_ms);
    } catch (const Error &) {
        try {
            set_state(f, false, timeout_ms);
        } catch (const Error &) {
        }
        throw;
    }
}

void thaw(const Freezer &f, int timeout_ms)
{
    if (f.kind == Freezer::Kind::none || f.dirs.empty())
        throw Error("no cgroup freezer for this container");
    set_state(f, false, timeout_ms);
}

}  // namespace urunc::linux
