// start: release the parked init. The init prepares the VMM, sends its exec report on the
// exec fifo right before execve and the fifo closes on exec; anything else on the fifo is
// the init's error, which start reports (container/init_protocol.hpp).
#include "container/container_ops.hpp"

#include "base/error.hpp"
#include "base/pidfd.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "linux/hooks.hpp"
#include "container/init_protocol.hpp"
#include "oci/host_config.hpp"
#include "container/timestamps.hpp"
#include "oci/spec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

namespace urunc::container {
using oci::HostConfig;
using oci::Namespace;
using oci::Spec;
using oci::State;
using oci::Status;
using oci::host_config_from_json;
using oci::oci_state_json;
using oci::parse_spec;
using oci::to_string;
using linux::run_hooks;

namespace {

// Read the fifo until the writer closes it (exec or exit) or the init dies.
std::string read_exec_fifo(int fifo, int pidfd)
{
    std::string data;
    struct pollfd p[2] = {{fifo, POLLIN, 0}, {pidfd, POLLIN, 0}};
    for (;;) {
        int n = ::poll(p, pidfd >= 0 ? 2 : 1, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw sys_error("poll exec fifo");
        }
        if (p[0].revents & (POLLIN | POLLHUP)) {
            char buf[4096];
            ssize_t r = ::read(fifo, buf, sizeof buf);
            if (r > 0) {
                data.append(buf, static_cast<size_t>(r));
                continue;
            }
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                return data;
        }
        if (p[1].revents & POLLIN) {
            // The init died; drain what it may have written first.
            char buf[4096];
            ssize_t r;
            while ((r = ::read(fifo, buf, sizeof buf)) > 0)
                data.append(buf, static_cast<size_t>(r));
            return data;
        }
    }
}

// After the fifo is open: the init's exec report, the network it reports, the poststart
// hooks.
void complete_start(StateDir &dir, State &st, const Spec &spec, UniqueFd fifo)
{
    const std::string &id = st.id;
    UniqueFd pidfd = pidfd_open(st.pid);
    ts::mark(ts::Step::st_sent_start_msg);
    std::string out = read_exec_fifo(fifo.get(), pidfd.get());
    ::unlink(dir.file("exec.fifo").c_str());
    proto::ExecReport report = proto::parse_exec_report(out);
    if (report.net_iface) {
        st.net_iface = *report.net_iface;
        st.net_tap = report.net_tap;
        log::debug("container {}: guest network on `{}` through tap `{}`", id, st.net_iface,
                   st.net_tap);
        dir.save(st);
    }
    if (!report.execed)
        throw Error(report.error);
    // The init reports the interface it gave the guest; silence means it found none. Only
    // for a namespace joined by path, i.e. one a network manager (CNI, docker) was meant
    // to configure: a fresh namespace of our own is empty by design, and a successful
    // start stays silent on stderr when no --log is given (go-runc reads its output).
    const Namespace *netns = spec.find_namespace("network");
    if (st.net_iface.empty() && netns && !netns->path.empty())
        log::info("container {}: no usable network interface in its network namespace (none "
                  "is up with an IPv4 address and the IPv4 default route): the guest runs "
                  "without network",
                  id);
    std::string running = oci_state_json(st, Status::running, false);
    try {
        run_hooks(spec.hooks.poststart, "poststart", running, 0);
    } catch (const Error &) {
        ::kill(st.pid, SIGKILL);
        throw;
    }
}

// The container's state dir (locked) and its state, with timestamps configured as the host
// config says.
std::pair<StateDir, State> load_for_start(const Globals &g, const std::string &id)
{
    auto dir = StateDir::open(g.root, id);
    if (!dir || !dir->has_state())
        throw Error("container does not exist");
    State st = dir->load();
    if (!st.host_config.empty()) {
        HostConfig hc = host_config_from_json(st.host_config);
        ts::configure(hc.timestamps.enabled, hc.timestamps.destination, id);
    } else {
        ts::configure(false, "", id);
    }
    ts::mark(ts::Step::st_invoked);
    ts::mark(ts::Step::st_unikontainer_created);
    return {std::move(*dir), std::move(st)};
}

}  // namespace

Started finish_started(const Globals &g, const std::string &id, UniqueFd exec_fifo)
{
    auto [dir, st] = load_for_start(g, id);
    Started s{std::move(st), {}};
    s.spec = parse_spec(read_regular_file(dir.file("config.json"), kMaxConfigJson), s.state.bundle);
    complete_start(dir, s.state, s.spec, std::move(exec_fifo));
    return s;
}

void start_container(const Globals &g, const std::string &id)
{
    auto [dir, st] = load_for_start(g, id);
    Status status = live_status(st, dir.path());
    if (status == Status::running)
        throw Error("cannot start an already running container");
    if (status == Status::stopped)
        throw Error("cannot start a container that has stopped");
    if (status != Status::created)
        throw Error(std::string("cannot start a container in the ") + to_string(status) + " state");

    Spec spec = parse_spec(read_regular_file(dir.file("config.json"), kMaxConfigJson), st.bundle);
    std::string created_json = oci_state_json(st, Status::created, false);
    // startContainer hooks run in the container's namespaces except the mount namespace:
    // the VMM's root holds only the VMM, so hook paths resolve on the host.
    try {
        run_hooks(spec.hooks.start_container, "startContainer", created_json, st.pid);
    } catch (const Error &) {
        ::kill(st.pid, SIGKILL);  // as runc: the container stops, it cannot be started again
        throw;
    }

    UniqueFd fifo = open_exec_fifo(dir);
    complete_start(dir, st, spec, std::move(fifo));
}

int start(const Globals &g, const StartOptions &o)
{
    const std::string &id = o.id;
    ours_or_runc(g, id);
    start_container(g, id);
    return 0;
}

}  // namespace urunc::container
