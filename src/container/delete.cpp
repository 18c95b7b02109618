// delete: remove everything the container created; best effort past single failures.
#include "container/container_ops.hpp"

#include "base/cleanup_errors.hpp"
#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "linux/cgroup.hpp"
#include "linux/cgroup_freezer.hpp"
#include "container/timestamps.hpp"
#include "linux/hooks.hpp"
#include "oci/spec.hpp"

#include "net/guest_network.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace urunc::container {
using oci::Namespace;
using oci::Spec;
using oci::State;
using oci::Status;
using oci::oci_state_json;
using oci::parse_spec;
using oci::to_string;
using linux::cgroup_from_json;
using linux::find_freezer;
using linux::remove_cgroup;
using linux::run_hooks;
using linux::thaw;

namespace {

// Run the teardown in a child that joins the namespace, so we never change our own.
std::string teardown_in_netns(const std::string &path, const std::string &iface,
                              const std::string &tap)
{
    int pfd[2];
    if (::pipe2(pfd, O_CLOEXEC) < 0)
        return sys_error("pipe").what();
    pid_t child = ::fork();
    if (child == 0) {
        ::close(pfd[0]);
        std::string err;
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        // Its file gone (podman removes it before it calls delete): the namespace died with
        // the VMM and took the tap along, or lives on only where nobody can name it.
        if (fd < 0 && errno == ENOENT)
            err = "";
        else if (fd < 0 || ::setns(fd, CLONE_NEWNET) < 0)
            err = sys_error("join network namespace `" + path + "`").what();
        else
            err = net::teardown_guest_network(tap, iface);
        ssize_t w = ::write(pfd[1], err.data(), err.size());
        (void)w;
        ::_exit(0);
    }
    ::close(pfd[1]);
    if (child < 0) {
        ::close(pfd[0]);
        return sys_error("fork").what();
    }
    UniqueFd rd(pfd[0]);
    std::string err;
    try {
        err = read_fd(rd.get(), "teardown");
    } catch (const Error &e) {
        err = e.what();
    }
    ::waitpid(child, nullptr, 0);
    return err;
}

}  // namespace

std::string destroy(StateDir &dir, const State &st, const Spec *known)
{
    CleanupErrors errors;
    std::optional<Spec> read;
    if (!known) {
        try {
            read =
                parse_spec(read_regular_file(dir.file("config.json"), kMaxConfigJson), st.bundle);
        } catch (const Error &e) {
            log::warn("container {}: no config snapshot, poststop hooks skipped: {}", st.id,
                      e.what());
        }
    }
    const Spec *spec = known ? known : read ? &*read : nullptr;
    if (!st.cgroup.empty())
        errors.attempt([&] { return remove_cgroup(cgroup_from_json(st.cgroup)); });
    ts::mark(ts::Step::dl_cgroup_removed);
    if (!st.net_iface.empty() && spec) {
        // A namespace we created died with the VMM, and its tap with it; in a joined one
        // (a pod's) the tap and its tc mirror would stay: remove them there.
        const Namespace *ns = spec->find_namespace("network");
        if (ns && !ns->path.empty()) {
            errors.add(teardown_in_netns(ns->path, st.net_iface,
                                         st.net_tap.empty() ? std::string(net::legacy_tap_name)
                                                            : st.net_tap));
        }
    }
    // The artifact copy (st.copy_dir) lives inside the state dir and goes with it: a path
    // read back from state.json is never removed on its own, whatever it says.
    errors.add(dir.remove());
    ts::mark(ts::Step::dl_state_removed);
    if (spec) {
        try {
            run_hooks(spec->hooks.poststop, "poststop", oci_state_json(st, Status::stopped, false),
                      0);
        } catch (const Error &he) {
            log::warn("container {}: {}", st.id, he.what());  // the spec says: warn and go on
        }
    }
    return errors.str();
}

void remove_reaped(const Globals &g, const Started &s)
{
    auto dir = StateDir::open(g.root, s.state.id);
    if (!dir)
        return;
    ts::mark(ts::Step::dl_killed);
    std::string errors = destroy(*dir, s.state, &s.spec);
    if (!errors.empty())
        throw Error("delete " + s.state.id + ": " + errors);
}

int remove(const Globals &g, const DeleteOptions &o)
{
    const std::string &id = o.id;
    bool force = o.force;
    ours_or_runc(g, id);
    ts::mark(ts::Step::dl_invoked);
    auto dir = StateDir::open(g.root, id);
    if (!dir) {
        if (force)
            return 0;
        throw Error("container does not exist");
    }
    if (!dir->has_state()) {
        // A create that died before writing state: only the directory is left.
        std::string e = dir->remove();
        if (force)
            return 0;
        throw Error("container does not exist" + (e.empty() ? "" : " (" + e + ")"));
    }
    State st = dir->load();
    Status status = live_status(st, dir->path());
    bool alive = process_start_time(st.pid) == st.pid_start && st.pid > 0 && st.pid_start != 0;
    if ((status == Status::running || status == Status::paused) && !force)
        throw Error("cannot delete container " + id + " that is not stopped: " + to_string(status));
    if (alive) {
        ::kill(st.pid, SIGKILL);
        if (status == Status::paused) {
            // A frozen task (cgroup v1) dies only once thawed.
            try {
                thaw(find_freezer(cgroup_from_json(st.cgroup).all_dirs));
            } catch (const Error &e) {
                log::warn("container {}: thaw after SIGKILL: {}", id, e.what());
            }
        }
        if (!wait_gone(st.pid, st.pid_start, 10000))
            throw Error("container " + id + ": pid " + std::to_string(st.pid) +
                        " did not die after SIGKILL");
    }
    ts::mark(ts::Step::dl_killed);
    std::string errors = destroy(*dir, st);
    if (!errors.empty())
        throw Error("delete " + id + ": " + errors);
    return 0;
}

}  // namespace urunc::container
