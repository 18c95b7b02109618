// create: validate and plan everything, then clone the init into the container's
// namespaces and cgroup, park it on the exec fifo, write the pid file. Nothing is left
// behind on failure.
#include "container/container_ops.hpp"

#include "base/clock.hpp"
#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "linux/cgroup.hpp"
#include "linux/console.hpp"
#include "linux/device_rules.hpp"
#include "linux/process_limits.hpp"
#include "linux/hooks.hpp"
#include "container/init.hpp"
#include "container/init_protocol.hpp"
#include "container/runc.hpp"
#include "container/state_store.hpp"
#include "container/timestamps.hpp"
#include "rootfs/block_unmount.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <set>
#include <cstdlib>

namespace urunc::oci {
namespace {

std::string absolute_bundle(const std::string &bundle)
{
    char buf[PATH_MAX];
    std::string b = bundle.empty() ? "." : bundle;
    if (!::realpath(b.c_str(), buf))
        throw sys_error("bundle `" + b + "`");
    return buf;
}

int clone_flags(const Spec &s, bool &new_uts)
{
    // The mount namespace is unshared by the init itself, after create has taken a block
    // rootfs away from the host (so the new namespace never holds a copy of it).
    int flags = 0;
    for (const auto &ns : s.namespaces) {
        if (!ns.path.empty())
            continue;
        if (ns.type == "network") flags |= CLONE_NEWNET;
        else if (ns.type == "pid") flags |= CLONE_NEWPID;
        else if (ns.type == "ipc") flags |= CLONE_NEWIPC;
        else if (ns.type == "uts") { flags |= CLONE_NEWUTS; new_uts = true; }
    }
    if (s.find_namespace("user"))
        throw Error("linux.namespaces: user namespaces are not supported by urunc");
    if (s.find_namespace("time"))
        throw Error("linux.namespaces: time namespaces are not supported by urunc");
    return flags;
}

// A pid namespace named by path is joined by create itself: it only affects our children.
void join_pid_namespace(const Spec &s)
{
    const Namespace *p = s.find_namespace("pid");
    if (!p || p->path.empty())
        return;
    UniqueFd fd(::open(p->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throw sys_error("open pid namespace `" + p->path + "`");
    if (::setns(fd.get(), CLONE_NEWPID) < 0)
        throw sys_error("join pid namespace `" + p->path + "`");
}

// The init's side ends in a report or, when it died, a closed socket.
void expect(int fd, proto::Stage stage)
{
    proto::expect_stage(fd, stage, "container init exited before it was ready");
}

void send_go(int fd)
{
    proto::send_stage(fd, proto::Stage::go, "sync with init");
}

void write_pid_file(const std::string &path, int pid)
{
    if (path.empty())
        return;
    write_file_atomic(path, std::to_string(pid), 0644);
}

// The namespaces (of those a sysctl can live in) the container has of its own: new, or
// joined by path when that is not the host's (PID 1's).
std::set<std::string> own_namespaces(const Spec &s)
{
    std::set<std::string> own;
    for (const char *type : {"ipc", "network", "uts"}) {
        const Namespace *ns = s.find_namespace(type);
        if (!ns)
            continue;
        if (!ns->path.empty()) {
            std::string proc = std::string("/proc/1/ns/") + (ns->type == "network" ? "net" : type);
            struct stat a, b;
            if (::stat(ns->path.c_str(), &a) == 0 && ::stat(proc.c_str(), &b) == 0 &&
                a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                continue;
        }
        own.insert(type);
    }
    return own;
}

// A step of create after the unmounts failed: the host gets its filesystems back, the
// last first, so that nothing is taken from it by a container that never ran.
void restore_unmounted(const std::string &id, std::vector<rootfs::UnmountedFs> &unmounted)
{
    for (auto it = unmounted.rbegin(); it != unmounted.rend(); ++it) {
        std::string e = rootfs::restore_mount(*it);
        if (e.empty())
            log::info("container {}: mounted `{}` on `{}` again", id, it->device, it->path);
        else
            log::error("container {}: {}", id, e);
    }
    unmounted.clear();
}

// As runc: the rootfs must be the directory itself, not a symlink to one (which could name
// any directory of the host, `/` included, and be re-pointed between create and start).
void check_rootfs_not_symlink(const std::string &root_path)
{
    struct stat st;
    if (::lstat(root_path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
        throw Error("config.json: root.path: `" + root_path + "` is a symlink; the rootfs must be a directory");
}

} // namespace

Created create_container(const Globals &g, const CreateOptions &o)
{
    if (!valid_id(o.id))
        throw Error("invalid container id `" + o.id + "`: allowed are [A-Za-z0-9_+.-], at most 255 of them");
    std::string bundle = absolute_bundle(o.bundle);
    const std::string spec_text = read_regular_file(join_path(bundle, "config.json"), kMaxConfigJson);
    Spec spec = parse_spec(spec_text, bundle);
    auto config = detect_unikernel(spec);
    if (!config)
        exec_runc(g.argv);
    if (!spec.has_linux)
        throw Error("config.json: linux: missing");
    check_rootfs_not_symlink(spec.root_path);
    if (spec.terminal && o.console_socket.empty() && !o.keep_console)
        throw Error("cannot allocate tty if urunc will detach without setting console socket");
    if (!spec.terminal && !o.console_socket.empty())
        throw Error("cannot use console socket if urunc will not detach or allocate tty");
    bool new_uts = false;
    int flags = clone_flags(spec, new_uts);
    if (!spec.hostname.empty() && !spec.find_namespace("uts"))
        throw Error("config.json: hostname: setting it needs a uts namespace (linux.namespaces), as in runc");
    validate_sysctls(spec.sysctl, own_namespaces(spec));
    check_lsm_labels(spec);
    HostConfig host = load_host_config();
    ts::configure(host.timestamps.enabled, host.timestamps.destination, o.id);
    ts::mark(ts::Step::cr_invoked);
    ts::mark(ts::Step::cr_unikontainer_created);

    StateDir dir = StateDir::create(g.root, o.id);
    ts::mark(ts::Step::cr_initial_setup);
    Created out;
    out.state_dir = dir.path();
    pid_t child = -1;
    std::vector<rootfs::UnmountedFs> unmounted;
    Cgroup cgroup;
    bool have_cgroup = false;
    try {
        auto launch = std::make_unique<Launch>(prepare_launch(spec, *config, host, dir.path()));
        Launch &l = *launch;
        log::info("container {}: guest rootfs {}; boot artifacts from {}", o.id, l.rootfs_choice,
                  l.artifact_source);

        State st;
        st.id = o.id;
        st.bundle = bundle;
        st.rootfs = spec.root_path;
        st.oci_version = spec.oci_version;
        st.created = rfc3339_now();
        st.annotations = spec.annotations;
        for (const auto &[k, v] : to_annotations(l.config))
            st.annotations[k] = v;
        st.host_config = host_config_to_json(l.host);
        st.rootfs_choice = l.rootfs_choice;
        st.artifact_source = l.artifact_source;
        st.copy_dir = l.copy_dir;
        st.systemd_cgroup = g.systemd_cgroup;
        dir.save(st);
        // Later commands read this snapshot: edits to the bundle's config.json don't matter.
        write_file_atomic(dir.file("config.json"), spec_text, 0600);

        // The monitor root is assembled on a tmpfs over this (empty) directory, inside the
        // init's private mount namespace: the host only ever sees the empty directory.
        if (::mkdir(l.root_dir.c_str(), 0700) < 0)
            throw sys_error("mkdir `" + l.root_dir + "`");

        std::string fifo = dir.file("exec.fifo");
        if (::mkfifo(fifo.c_str(), 0600) < 0)
            throw sys_error("mkfifo `" + fifo + "`");
        UniqueFd fifo_fd(::open(fifo.c_str(), O_PATH | O_CLOEXEC));
        if (!fifo_fd)
            throw sys_error("open `" + fifo + "`");
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
            throw sys_error("socketpair");
        UniqueFd parent_sock(sv[0]), child_sock(sv[1]);
        Pty pty;
        if (spec.terminal)
            pty = open_pty();
        if (spec.terminal && spec.console_rows)
            set_winsize(pty.master.get(), spec.console_rows, spec.console_cols);

        InitArgs args;
        args.launch = &l;
        args.sync_fd = child_sock.get();
        args.fifo_fd = fifo_fd.get();
        args.console_slave = spec.terminal ? pty.slave.get() : -1;
        args.new_uts = new_uts;
        args.state = st;

        for (const auto &u : l.unmounts) {
            UniqueFd dev(::open(u.device.c_str(), O_RDONLY | O_CLOEXEC));
            if (!dev)
                throw sys_error("open `" + u.device + "`");
            l.device_fds.push_back(dev.get());
            l.fds.push_back(std::move(dev));
        }
        join_pid_namespace(spec);
        ts::mark(ts::Step::cr_start_reexec);
        child = static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
        if (child < 0)
            throw sys_error("clone the container init");
        if (child == 0)
            init_main(args);
        child_sock.reset();
        pty.slave.reset();
        out.pid = child;

        CgroupRequest cr;
        cr.path = spec.cgroups_path;
        cr.systemd = g.systemd_cgroup;
        cr.id = o.id;
        cr.resources = l.cgroup_resources;
        // The spec's rules first, then what the VMM needs, whatever they said.
        if (!cr.resources.devices.empty()) {
            for (const auto &d : l.devices)
                cr.resources.devices.push_back(allow_node(d));
            for (const auto &d : spec.devices)
                if (d.type != 'p')
                    cr.resources.devices.push_back(allow_node(d.type, d.major, d.minor));
        }
        cgroup = place_in_cgroup(child, cr);
        have_cgroup = true;
        st.cgroup = cgroup_to_json(cgroup);
        st.pid = child;
        st.pid_start = process_start_time(child);
        // Recorded now: if create is killed from here on (a shim's Pdeathsig), delete still
        // finds the init and the cgroup; state and ps show the real pid meanwhile.
        dir.save(st);
        // A block rootfs leaves the host now, after every check that can fail early, in the
        // namespace that owns the mount, before the init makes its own mount namespace.
        for (const auto &u : l.unmounts) {
            unmounted.push_back(rootfs::unmount_for_guest(u.path, u.device));
            log::info("container {}: unmounted `{}` from the host; {} goes to the guest", o.id, u.path,
                      u.device);
        }
        send_go(parent_sock.get());
        expect(parent_sock.get(), proto::Stage::ns_ready);
        ts::mark(ts::Step::cr_received_pids);

        std::string creating = oci_state_json(st, Status::creating, false);
        run_hooks(spec.hooks.prestart, "prestart", creating, 0);
        run_hooks(spec.hooks.create_runtime, "createRuntime", creating, 0);
        ts::mark(ts::Step::cr_hooks_executed);
        send_go(parent_sock.get());
        ts::mark(ts::Step::cr_sent_ack);
        expect(parent_sock.get(), proto::Stage::ready);

        if (spec.terminal && o.keep_console)
            out.console = std::move(pty.master);
        else if (spec.terminal)
            send_console_master(o.console_socket, pty.master.get(), pty.slave_name);
        st.pid_start = process_start_time(child);
        if (st.pid_start == 0)
            throw Error("container init exited before it was ready");
        st.creating = false;
        dir.save(st);
        write_pid_file(o.pid_file, child);
        ts::mark(ts::Step::cr_terminated);
        return out;
    } catch (...) {
        if (child > 0) {
            ::kill(child, SIGKILL);
            ::waitpid(child, nullptr, 0);
        }
        // No VMM ever had the devices (start has not run): the host gets its mounts back.
        restore_unmounted(o.id, unmounted);
        if (have_cgroup)
            remove_cgroup(cgroup);
        dir.remove();
        throw;
    }
}

int create(const Globals &g, const CreateOptions &o)
{
    create_container(g, o);
    return 0;
}

} // namespace urunc::oci
