// create: validate and plan everything, then clone the init into the container's
// namespaces and cgroup, park it on the exec fifo, write the pid file. Nothing is left
// behind on failure.
#include "container/container_ops.hpp"

#include "container/lifecycle.hpp"
#include "base/clock.hpp"
#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/prefault.hpp"
#include "base/rollback.hpp"
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
#include <optional>
#include <set>
#include <cstdlib>

namespace urunc::container {
using oci::HostConfig;
using oci::Namespace;
using oci::Spec;
using oci::State;
using oci::Status;
using oci::host_config_to_json;
using oci::oci_state_json;
using oci::parse_spec;
using oci::to_annotations;
using oci::valid_id;
using linux::Cgroup;
using linux::CgroupRequest;
using linux::Pty;
using linux::allow_node;
using linux::cgroup_to_json;
using linux::check_lsm_labels;
using linux::open_pty;
using linux::place_in_cgroup;
using linux::remove_cgroup;
using linux::run_hooks;
using linux::send_console_master;
using linux::set_winsize;
using linux::validate_sysctls;

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
        if (ns.type == "network")
            flags |= CLONE_NEWNET;
        else if (ns.type == "pid")
            flags |= CLONE_NEWPID;
        else if (ns.type == "ipc")
            flags |= CLONE_NEWIPC;
        else if (ns.type == "uts") {
            flags |= CLONE_NEWUTS;
            new_uts = true;
        }
    }
    if (s.find_namespace("user"))
        throw Error("linux.namespaces: user namespaces are not supported by urunc");
    if (s.find_namespace("time"))
        throw Error("linux.namespaces: time namespaces are not supported by urunc");
    return flags;
}

// A pid namespace named by path is joined by create itself: it only affects our children.
// Returns our own pid namespace (empty when nothing was joined), to go back to once the init
// is cloned: every later child of create (prestart and createRuntime hooks, helpers, and
// LeakSanitizer's tracer at exit) belongs to the runtime's pid namespace, not the container's.
UniqueFd join_pid_namespace(const Spec &s)
{
    const Namespace *p = s.find_namespace("pid");
    if (!p || p->path.empty())
        return UniqueFd();
    UniqueFd own(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own)
        throw sys_error("open our pid namespace `/proc/self/ns/pid`");
    UniqueFd fd(::open(p->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throw sys_error("open pid namespace `" + p->path + "`");
    if (::setns(fd.get(), CLONE_NEWPID) < 0)
        throw sys_error("join pid namespace `" + p->path + "`");
    return own;
}

// The init's side ends in a report or, when it died, a closed socket.
void expect(int fd, proto::Stage stage)
{
    proto::expect_stage(fd, stage, "container init exited before it was ready");
}

void send_go(int fd) { proto::send_stage(fd, proto::Stage::go, "sync with init"); }

// The container's new network namespace, made here after the clone (InitArgs::netns_from_go)
// and sent with the first go; create goes back to its own at once (run's later hooks and
// steps run where they always did).
void send_go_with_new_netns(int fd)
{
    const char *self = "/proc/thread-self/ns/net";
    UniqueFd own(::open(self, O_RDONLY | O_CLOEXEC));
    if (!own)
        throw sys_error(std::string("open `") + self + "`");
    if (::unshare(CLONE_NEWNET) < 0)
        throw sys_error("create the container's network namespace");
    UniqueFd ns(::open(self, O_RDONLY | O_CLOEXEC));
    int e = errno;
    if (::setns(own.get(), CLONE_NEWNET) < 0)
        throw sys_error("return to create's network namespace");
    if (!ns)
        throw sys_error(std::string("open `") + self + "` (the container's network namespace)", e);
    proto::send_stage_with_fd(fd, proto::Stage::go, ns.get(), "sync with init");
}

// What create and the init do in parallel. Nothing for the init to wait for but its cgroups
// (no prestart or createRuntime hooks, no block rootfs): it builds the monitor root's mounts
// while we place it (both take milliseconds, mostly in the kernel), and a new network
// namespace is made by us after the clone instead of by the clone, before both branches.
void plan_init_branches(InitArgs &args, const Launch &l, const Spec &spec, int &flags)
{
    args.early =
        spec.hooks.prestart.empty() && spec.hooks.create_runtime.empty() && l.unmounts.empty();
    args.netns_from_go = args.early && (flags & CLONE_NEWNET);
    if (args.netns_from_go)
        flags &= ~CLONE_NEWNET;
}

// Early, the first go right after the clone, with the new network namespace if we made it.
void send_first_go(int sock, const InitArgs &args)
{
    if (args.netns_from_go)
        send_go_with_new_netns(sock);
    else if (args.early)
        send_go(sock);
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
        throw Error("config.json: root.path: `" + root_path +
                    "` is a symlink; the rootfs must be a directory");
}

// What create reads from the bundle: config.json as text (the state dir keeps this
// snapshot), parsed, and the unikernel config it names.
struct BundleInput {
    std::string dir;  // absolute
    std::string spec_text;
    Spec spec;
    DetectedUnikernel unikernel;
};

// The id, the bundle and its config.json; a bundle that is not a unikernel goes to runc.
BundleInput read_bundle(const Globals &g, const CreateOptions &o, rootfs::LazyMountInfo &mi)
{
    if (!valid_id(o.id))
        throw Error("invalid container id `" + o.id +
                    "`: allowed are [A-Za-z0-9_+.-], at most 255 of them");
    BundleInput in;
    in.dir = absolute_bundle(o.bundle);
    in.spec_text = read_regular_file(join_path(in.dir, "config.json"), kMaxConfigJson);
    in.spec = parse_spec(in.spec_text, in.dir);
    auto unikernel = detect_unikernel(in.spec, mi);
    if (!unikernel)
        exec_runc(g.argv);
    in.unikernel = std::move(*unikernel);
    return in;
}

// What urunc refuses in a spec, checked before anything is made. Returns the clone flags.
int check_spec(const Spec &spec, const CreateOptions &o, bool &new_uts)
{
    if (!spec.has_linux)
        throw Error("config.json: linux: missing");
    check_rootfs_not_symlink(spec.root_path);
    if (spec.terminal && o.console_socket.empty() && !o.keep_console)
        throw Error("cannot allocate tty if urunc will detach without setting console socket");
    if (!spec.terminal && !o.console_socket.empty())
        throw Error("cannot use console socket if urunc will not detach or allocate tty");
    int flags = clone_flags(spec, new_uts);
    if (!spec.hostname.empty() && !spec.find_namespace("uts"))
        throw Error(
            "config.json: hostname: setting it needs a uts namespace (linux.namespaces), as in runc");
    validate_sysctls(spec.sysctl, own_namespaces(spec));
    check_lsm_labels(spec);
    return flags;
}

// The host config, and the timestamps it asks for.
const HostConfig &load_host_and_start_timestamps(const CreateOptions &o)
{
    const HostConfig &host = host_config();
    ts::configure(host.timestamps.enabled, host.timestamps.destination, o.id);
    ts::mark(ts::Step::cr_invoked);
    ts::mark(ts::Step::cr_unikontainer_created);
    return host;
}

// state.json as first written (no pid yet), and the snapshot of config.json.
State record_state(const StateDir &dir, const Globals &g, const CreateOptions &o,
                   const BundleInput &in, const Launch &l)
{
    State st;
    st.id = o.id;
    st.bundle = in.dir;
    st.rootfs = in.spec.root_path;
    st.oci_version = in.spec.oci_version;
    st.created = rfc3339_now();
    st.annotations = in.spec.annotations;
    for (const auto &[k, v] : to_annotations(l.config))
        st.annotations[k] = v;
    st.host_config = host_config_to_json(*l.host);
    st.rootfs_choice = l.rootfs_choice;
    st.artifact_source = l.artifact_source;
    st.copy_dir = l.copy_dir;
    st.systemd_cgroup = g.systemd_cgroup;
    dir.save(st);
    // Later commands read this snapshot: edits to the bundle's config.json don't matter.
    write_file_atomic(dir.file("config.json"), in.spec_text, 0600);
    return st;
}

// The monitor root is assembled on a tmpfs over this (empty) directory, inside the init's
// private mount namespace: the host only ever sees the empty directory.
void make_monitor_root_dir(const Launch &l)
{
    if (::mkdir(l.root.root_dir.c_str(), 0700) < 0)
        throw sys_error("mkdir `" + l.root.root_dir + "`");
}

// What create and the init talk through: the exec fifo the init parks on, the sync socket
// pair, the pty when the spec asks for a terminal.
struct InitChannels {
    UniqueFd fifo;
    UniqueFd parent_sock, child_sock;
    Pty pty;
};

InitChannels open_init_channels(const StateDir &dir, const Spec &spec)
{
    InitChannels ch;
    std::string fifo = dir.file("exec.fifo");
    if (::mkfifo(fifo.c_str(), 0600) < 0)
        throw sys_error("mkfifo `" + fifo + "`");
    ch.fifo.reset(::open(fifo.c_str(), O_PATH | O_CLOEXEC));
    if (!ch.fifo)
        throw sys_error("open `" + fifo + "`");
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        throw sys_error("socketpair");
    ch.parent_sock.reset(sv[0]);
    ch.child_sock.reset(sv[1]);
    if (spec.terminal)
        ch.pty = open_pty();
    if (spec.terminal && spec.console_rows)
        set_winsize(ch.pty.master.get(), spec.console_rows, spec.console_cols);
    return ch;
}

InitArgs init_args(Launch &l, const InitChannels &ch, const Spec &spec, bool new_uts,
                   const State &st)
{
    InitArgs args;
    args.launch = &l;
    args.sync_fd = ch.child_sock.get();
    args.fifo_fd = ch.fifo.get();
    args.console_slave = spec.terminal ? ch.pty.slave.get() : -1;
    args.new_uts = new_uts;
    args.state = st;
    return args;
}

// Fds on the block devices that leave the host, opened while they are still mounted: the
// VMM gets them across exec.
void open_block_devices(Launch &l)
{
    for (const auto &u : l.unmounts) {
        UniqueFd dev(::open(u.device.c_str(), O_RDONLY | O_CLOEXEC));
        if (!dev)
            throw sys_error("open `" + u.device + "`");
        l.device_fds.push_back(std::move(dev));
    }
}

// The init, cloned into its new namespaces (after joining a pid namespace named by path).
pid_t clone_init(const Spec &spec, int flags, InitArgs &args)
{
    UniqueFd own_pid_ns = join_pid_namespace(spec);
    ts::mark(ts::Step::cr_start_reexec);
    pid_t child =
        static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
    if (child == 0) {
        base::prefault_image(false);
        init_main(args);
    }
    int clone_errno = errno;
    linux::pin_to_cpu(child, args.cpu_pin);
    if (own_pid_ns && ::setns(own_pid_ns.get(), CLONE_NEWPID) < 0) {
        int e = errno;
        if (child > 0) {
            ::kill(child, SIGKILL);
            ::waitpid(child, nullptr, 0);
        }
        throw sys_error("return to our pid namespace after cloning the init", e);
    }
    if (child < 0)
        throw sys_error("clone the container init", clone_errno);
    return child;
}

// The init of a create that failed.
void kill_init(pid_t child)
{
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
}

// The init's cgroup: the spec's, with the device rules the VMM needs.
Cgroup place_init_in_cgroup(pid_t child, const Spec &spec, const Globals &g, const CreateOptions &o,
                            const Launch &l, const std::vector<linux::CgroupMount> &hierarchies)
{
    CgroupRequest cr;
    cr.path = spec.cgroups_path;
    cr.systemd = g.systemd_cgroup;
    cr.id = o.id;
    cr.resources = l.cgroup_resources;
    // The spec's rules first, then what the VMM needs, whatever they said.
    if (!cr.resources.devices.empty()) {
        for (const auto &d : l.root.devices)
            cr.resources.devices.push_back(allow_node(d));
        for (const auto &d : spec.devices)
            if (d.type != 'p')
                cr.resources.devices.push_back(allow_node(d.type, d.major, d.minor));
    }
    return place_in_cgroup(child, cr, hierarchies);
}

// Recorded now: if create is killed from here on (a shim's Pdeathsig), delete still finds
// the init and the cgroup; state and ps show the real pid meanwhile.
void record_init(const StateDir &dir, State &st, pid_t child, const Cgroup &cgroup)
{
    st.cgroup = cgroup_to_json(cgroup);
    st.pid = child;
    st.pid_start = process_start_time(child);
    dir.save(st);
}

// A block rootfs leaves the host now, after every check that can fail early, in the
// namespace that owns the mount, before the init makes its own mount namespace.
void unmount_block_rootfs(const std::string &id, const Launch &l,
                          std::vector<rootfs::UnmountedFs> &unmounted)
{
    for (const auto &u : l.unmounts) {
        unmounted.push_back(rootfs::unmount_for_guest(u.path, u.device));
        log::info("container {}: unmounted `{}` from the host; {} goes to the guest", id, u.path,
                  u.device);
    }
}

// The init has its namespaces: the prestart and createRuntime hooks run, then it goes on
// until it is parked on the exec fifo. Early (no such hooks), the first go went out right
// after clone and the second, "placed in the cgroups", goes out now, before the init
// says its namespaces are ready: it finds it waiting instead of waiting for a round trip.
void run_create_hooks(int sock, const Spec &spec, const State &st, bool early)
{
    send_go(sock);
    if (early)
        proto::test_sync_reset_order(sock, false);
    expect(sock, proto::Stage::ns_ready);
    ts::mark(ts::Step::cr_received_pids);

    if (!early) {
        std::string creating = oci_state_json(st, Status::creating, false);
        run_hooks(spec.hooks.prestart, "prestart", creating, 0);
        run_hooks(spec.hooks.create_runtime, "createRuntime", creating, 0);
    }
    ts::mark(ts::Step::cr_hooks_executed);
    if (!early)
        send_go(sock);
    ts::mark(ts::Step::cr_sent_ack);
    expect(sock, proto::Stage::ready);
}

// The pty master goes to our caller (run) or to the console socket.
void hand_over_console(const Spec &spec, const CreateOptions &o, Pty &pty, Created &out)
{
    if (spec.terminal && o.keep_console)
        out.console = std::move(pty.master);
    else if (spec.terminal)
        send_console_master(o.console_socket, pty.master.get(), pty.slave_name);
}

// The init is parked on the exec fifo: state says created, the pid file names it. Started
// at once, it may already be the VMM, even one that has exited (a zombie until run reaps
// it): its start time was recorded after the clone.
void record_created(const StateDir &dir, State &st, const CreateOptions &o, pid_t child,
                    bool started)
{
    if (!started)
        st.pid_start = process_start_time(child);
    if (st.pid_start == 0)
        throw Error("container init exited before it was ready");
    st.creating = false;
    dir.save(st);
    write_pid_file(o.pid_file, child);
}

}  // namespace

Created create_container(const Globals &g, const CreateOptions &o)
{
    // Read once for all of create's checks (the unmount re-reads it: the table it checks
    // must be the one it acts on).
    rootfs::LazyMountInfo mountinfo;
    BundleInput in = read_bundle(g, o, mountinfo);
    const Spec &spec = in.spec;
    bool new_uts = false;
    int flags = check_spec(spec, o, new_uts);
    const HostConfig &host = load_host_and_start_timestamps(o);

    StateDir dir = StateDir::create(g.root, o.id);
    ts::mark(ts::Step::cr_initial_setup);
    // From here on a failure undoes what create made: the init is killed first (it holds
    // the cgroup and the block devices), then the host gets its filesystems back, then the
    // cgroup and the state dir go. Each step is a no-op until its thing exists.
    Created out;
    out.state_dir = dir.path();
    pid_t child = -1;
    std::vector<rootfs::UnmountedFs> unmounted;
    std::optional<Cgroup> cgroup;
    Rollback undo("container " + o.id);
    undo.add([&] { return dir.remove(); });
    undo.add([&] { return cgroup ? remove_cgroup(*cgroup) : std::string(); });
    // No VMM ever had the devices (start has not run): the host gets its mounts back.
    undo.add([&] {
        restore_unmounted(o.id, unmounted);
        return std::string();
    });
    undo.add([&] {
        if (child > 0)
            kill_init(child);
        return std::string();
    });

    auto launch = std::make_unique<Launch>(
        prepare_launch(spec, std::move(in.unikernel), host, mountinfo, dir.path()));
    Launch &l = *launch;
    log::info("container {}: guest rootfs {}; boot artifacts from {}", o.id, l.rootfs_choice,
              l.artifact_source);
    State st = record_state(dir, g, o, in, l);
    make_monitor_root_dir(l);
    InitChannels ch = open_init_channels(dir, spec);
    if (o.start_at_once && spec.hooks.start_container.empty()) {
        out.exec_fifo = open_exec_fifo(dir);
        // Off the disk at once: no start can come between (the container goes from creating
        // to running, as the init may be the VMM before create returns); the init reopens
        // it through its O_PATH fd.
        if (::unlink(dir.file("exec.fifo").c_str()) < 0)
            throw sys_error("unlink `" + dir.file("exec.fifo") + "`");
    }
    InitArgs args = init_args(l, ch, spec, new_uts, st);
    plan_init_branches(args, l, spec, flags);
    open_block_devices(l);
    args.cpu_pin = linux::plan_cpu_pin();
    // Read before the clone: once the init runs, it takes the kernel's mount lock for its
    // namespace and mounts, and reading our mount table waited for it (~1 ms after clone).
    auto hierarchies = linux::mounted_cgroup_hierarchies();
    child = clone_init(spec, flags, args);
    ch.child_sock.reset();
    ch.pty.slave.reset();
    out.pid = child;
    send_first_go(ch.parent_sock.get(), args);

    cgroup = place_init_in_cgroup(child, spec, g, o, l, hierarchies);
    record_init(dir, st, child, *cgroup);
    unmount_block_rootfs(o.id, l, unmounted);
    run_create_hooks(ch.parent_sock.get(), spec, st, args.early);
    hand_over_console(spec, o, ch.pty, out);
    record_created(dir, st, o, child, static_cast<bool>(out.exec_fifo));
    ts::mark(ts::Step::cr_terminated);
    undo.commit();
    return out;
}

int create(const Globals &g, const CreateOptions &o)
{
    create_container(g, o);
    return 0;
}

}  // namespace urunc::container
