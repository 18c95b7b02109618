#include "container/timestamps.hpp"

#include "base/error.hpp"

#include "base/file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace urunc::container::ts {
namespace {

int g_fd = -1;
std::string g_id;
long long g_invoked = 0;

const char *const kNames[] = {
    "CR.invoked",
    "CR.unikontainer_created",
    "CR.initial_setup",
    "CR.start_reexec",
    "RX.create_invoked",
    "RX.close_pipes_and_setup_base",
    "CR.received_pids",
    "CR.hooks_executed",
    "CR.sent_ack",
    "RX.received_ack",
    "CR.terminated",
    "ST.invoked",
    "ST.unikontainer_created",
    "ST.sent_start_msg",
    "RX.received_start_msg",
    "RX.joined_netns",
    "RX.network_setup_completed",
    "RX.disk_setup_completed",
    "RX.execve_hypervisor",
    // Not upstream timestamps (never written): steps of delete, for the test kill hook.
    "DL.invoked",
    "DL.killed",
    "DL.cgroup_removed",
    "DL.state_removed",
};
constexpr int kWritten = 18;  // TS00..TS18 are written; the rest are hook-only steps
constexpr int kLast = static_cast<int>(sizeof kNames / sizeof kNames[0]) - 1;
static_assert(kLast == static_cast<int>(Step::dl_state_removed), "one name per step");

long long now_ns()
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

}  // namespace

void invoked() { g_invoked = now_ns(); }

int fd() { return g_fd; }

void configure(bool enabled, const std::string &destination, const std::string &container_id)
{
    const char *env = std::getenv("URUNC_TIMESTAMPS");
    if (env && *env)
        enabled = std::string(env) == "1" || std::string(env) == "true";
    if (!enabled || g_fd >= 0)
        return;
    std::string dest = destination;
    if (const char *f = std::getenv("URUNC_TIMESTAMPS_FILE"); f && *f)
        dest = f;
    auto slash = dest.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        try {
            mkdir_p(dest.substr(0, slash), 0755);
        } catch (const Error &) {
            // timestamps are a measuring aid: without their directory, the open below fails
            // and nothing is recorded
        }
    }
    g_fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    g_id = container_id;
}

void mark(Step step)
{
    const int id = static_cast<int>(step);
#ifdef URUNC_TEST_SEAMS
    // Test builds only (meson -Dtest_seams=true): URUNC_TEST_KILL_AT=<step name or number>
    // makes this process (create, the container init, start or delete) SIGKILL itself at
    // that step, as a caller's kill would; tests/integration/faults.bats takes every name
    // in kNames from the binary.
    if (const char *k = std::getenv("URUNC_TEST_KILL_AT");
        k && id >= 0 && id <= kLast &&
        (std::string(k) == kNames[id] || std::string(k) == std::to_string(id))) {
        ::kill(::getpid(), SIGKILL);
        // The init is pid 1 of a new pid namespace, and pid 1 ignores even SIGKILL sent from
        // inside: it vanishes the same way, unclean, with the status a SIGKILL would show.
        ::_exit(128 + SIGKILL);
    }
#endif
    if (g_fd < 0 || id < 0 || id > kWritten)
        return;
    long long t =
        (step == Step::cr_invoked || step == Step::st_invoked) && g_invoked ? g_invoked : now_ns();
    char line[512];
    int n =
        std::snprintf(line, sizeof line,
                      "{\"containerID\":\"%s\",\"timestampID\":\"TS%02d\",\"timestampName\":\"%s\","
                      "\"timestampOrder\":%d,\"time\":%lld}\n",
                      g_id.c_str(), id, kNames[id], id, t);
    if (n > 0) {
        ssize_t w = ::write(g_fd, line, static_cast<size_t>(n) < sizeof line ? n : sizeof line - 1);
        (void)w;
    }
}

}  // namespace urunc::container::ts
