// kill: deliver the signal asked for (never replaced by SIGKILL) to the init / VMM.
#include "container/container_ops.hpp"

#include "base/error.hpp"
#include "base/pidfd.hpp"
#include "base/log.hpp"
#include "linux/cgroup.hpp"
#include "linux/cgroup_freezer.hpp"
#include "oci/signals.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace urunc::container {
using oci::State;
using oci::Status;
using oci::parse_signal;
using linux::cgroup_from_json;
using linux::cgroup_pids;
using linux::find_freezer;
using linux::thaw;

bool wait_gone(pid_t pid, unsigned long long start_time, int timeout_ms)
{
    UniqueFd pidfd = pidfd_open(pid);
    if (!pidfd)
        return errno == ESRCH;
    // The pidfd now pins this pid: if it was reused, it is not ours and ours is gone.
    if (process_start_time(pid) != start_time)
        return true;
    struct pollfd p = {pidfd.get(), POLLIN, 0};
    for (;;) {
        int n = ::poll(&p, 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        return n > 0;
    }
}

int kill(const Globals &g, const KillOptions &o)
{
    const std::string &id = o.id;
    const std::string &signal = o.signal;
    bool all = o.all;
    ours_or_runc(g, id);
    int sig = parse_signal(signal);
    auto dir = StateDir::open(g.root, id);
    if (!dir || !dir->has_state())
        throw Error("container does not exist");
    State st = dir->load();
    Status status = live_status(st, dir->path());
    if (status == Status::stopped || status == Status::creating) {
        if (all)
            return 0;  // containerd kills every exited task with --all 9 before deleting it
        throw Error("container not running");
    }
    if (::kill(st.pid, sig) < 0) {
        if (errno == ESRCH) {
            if (all)
                return 0;
            throw Error("container not running");
        }
        throw sys_error("kill " + std::to_string(st.pid));
    }
    if (all && !st.cgroup.empty()) {
        // runc 1.1 semantics: every process of the container's cgroup.
        for (pid_t p : cgroup_pids(cgroup_from_json(st.cgroup)))
            if (p != st.pid)
                ::kill(p, sig);
    }
    if (status == Status::paused && sig == SIGKILL) {
        // As runc: on cgroup v1 a frozen task dies only once thawed.
        try {
            thaw(find_freezer(cgroup_from_json(st.cgroup).all_dirs));
        } catch (const Error &e) {
            log::warn("container {}: thaw after SIGKILL: {}", id, e.what());
        }
    }
    log::debug("container {}: sent signal {} to pid {}", id, sig, st.pid);
    return 0;
}

}  // namespace urunc::container
