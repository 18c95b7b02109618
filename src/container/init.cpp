#include "container/init.hpp"

#include "container/init_protocol.hpp"

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "net/guest_network.hpp"
#include "linux/console.hpp"
#include "linux/hooks.hpp"
#include "linux/capabilities.hpp"
#include "container/timestamps.hpp"
#include "container/monitor_setup.hpp"
#include "linux/process_limits.hpp"
#include "rootfs/block_unmount.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace urunc::container {
using oci::Namespace;
using oci::Spec;
using oci::Status;
using oci::oci_state_json;
using linux::apply_capabilities;
using linux::apply_rlimits;
using linux::become_console;
using linux::prepare_capabilities;
using linux::run_hooks;
using linux::set_exec_labels;
using linux::write_oom_score_adj;
using linux::write_sysctls;

namespace {

// create went away (or failed): nothing to do but leave. The fd the go carried, if any.
UniqueFd wait_go(int fd)
{
    try {
        return proto::expect_stage_with_fd(fd, proto::Stage::go, "create exited");
    } catch (const std::exception &) {
        ::_exit(1);
    }
}

// The container's network namespace, carried by create's first go (InitArgs::netns_from_go):
// joined at once, before anything reads or writes the init's (sysctls, the host check).
void join_netns_from_go(const UniqueFd &ns)
{
    if (!ns)
        throw Error("sync: create's first go carried no network namespace");
    if (::setns(ns.get(), CLONE_NEWNET) < 0)
        throw sys_error("join the container's network namespace");
}

int ns_flag(const std::string &type)
{
    if (type == "mount")
        return CLONE_NEWNS;
    if (type == "network")
        return CLONE_NEWNET;
    if (type == "ipc")
        return CLONE_NEWIPC;
    if (type == "uts")
        return CLONE_NEWUTS;
    if (type == "cgroup")
        return CLONE_NEWCGROUP;
    return 0;
}

// Join the namespaces the spec names by path (pid was joined by create before clone).
void join_namespaces(const Spec &s)
{
    for (const auto &ns : s.namespaces) {
        int flag = ns_flag(ns.type);
        if (ns.path.empty() || !flag)
            continue;
        UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd)
            throw sys_error("open " + ns.type + " namespace `" + ns.path + "`");
        if (::setns(fd.get(), flag) < 0)
            throw sys_error("join " + ns.type + " namespace `" + ns.path + "`");
    }
    // Always a mount namespace of our own for the monitor root; a joined one (path) is
    // never modified: we take a private copy of it.
    if (::unshare(CLONE_NEWNS) < 0)
        throw sys_error("unshare mount namespace");
}

// A new cgroup namespace is rooted where the process is: only once create placed it.
void unshare_cgroup_namespace(const Spec &s)
{
    if (const Namespace *c = s.find_namespace("cgroup"); c && c->path.empty())
        if (::unshare(CLONE_NEWCGROUP) < 0)
            throw sys_error("unshare cgroup namespace");
}

void set_hostname(const InitArgs &a)
{
    const std::string &name = a.launch->spec.hostname;
    if (a.new_uts && !name.empty() && ::sethostname(name.data(), name.size()) < 0)
        throw sys_error("sethostname `" + name + "`");
}

void parked_signal(int sig)
{
    // The parked init is PID 1 of its namespace: without a handler it would ignore TERM.
    ::_exit(128 + sig);
}

void install_parked_handlers()
{
    struct sigaction sa {};
    sa.sa_handler = parked_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2})
        ::sigaction(sig, &sa, nullptr);
}

// The signals this thread ignores, from /proc/thread-self/status; all of them when that
// cannot be read.
uint64_t ignored_signals()
{
    const std::string path = "/proc/thread-self/status";
    std::string status;
    try {
        if (UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)); fd)
            status = read_fd(fd.get(), path);
    } catch (const Error &) {
    }
    const std::string field = "\nSigIgn:";
    const size_t at = status.find(field);
    if (at == std::string::npos)
        return ~uint64_t{0};
    char *end = nullptr;
    const uint64_t mask = std::strtoull(status.c_str() + at + field.size(), &end, 16);
    return *end == '\n' ? mask : ~uint64_t{0};
}

// What the exec'ed program inherits: execve itself resets every caught signal to its default
// and keeps only the ignored ones and the mask, so only those are reset (one read of the
// status instead of 64 sigaction calls, ~0.2 ms on the way to the VMM's exec).
void reset_signals()
{
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    const uint64_t ignored = ignored_signals();
    for (int sig = 1; sig < NSIG && sig <= 64; ++sig)
        if (ignored & (uint64_t{1} << (sig - 1)))
            ::sigaction(sig, &sa, nullptr);
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
}

void drop_privileges(const Spec &s)
{
    std::vector<gid_t> groups(s.additional_gids.begin(), s.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) < 0)
        throw sys_error("setgroups");
    prepare_capabilities(s.capabilities);
    if (::setresgid(s.gid, s.gid, s.gid) < 0)
        throw sys_error("setgid " + std::to_string(s.gid));
    if (::setresuid(s.uid, s.uid, s.uid) < 0)
        throw sys_error("setuid " + std::to_string(s.uid));
    // Trust, but verify: a VMM left with any id of root would be root.
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (::getresuid(&ru, &eu, &su) < 0 || ::getresgid(&rg, &eg, &sg) < 0)
        throw sys_error("getresuid/getresgid");
    if (ru != s.uid || eu != s.uid || su != s.uid || rg != s.gid || eg != s.gid || sg != s.gid)
        throw Error("dropping privileges to uid " + std::to_string(s.uid) + " gid " +
                        std::to_string(s.gid) + " left uids " + std::to_string(ru) + "/" +
                        std::to_string(eu) + "/" + std::to_string(su) + " gids " +
                        std::to_string(rg) + "/" + std::to_string(eg) + "/" + std::to_string(sg),
                    EPERM);
    apply_capabilities(s.capabilities);
}

// virtiofs: the share's server, forked while still root (it chroots into the share) and in
// the monitor root, so it lives in the container's cgroup and namespaces. PDEATHSIG ties
// it to this process, which becomes the VMM: it dies with the VMM (and exits by itself
// when the VMM disconnects). The listening socket is made here, owned by process.user (the
// VMM connects as that user), and handed over with --fd: the VMM can connect as soon as
// this returns, with no wait for the daemon to make a socket of its own. A daemon that dies
// before it serves leaves a socket nobody listens on, and the VMM's connect fails loudly.
void start_virtiofsd(const Launch &l)
{
    const std::string &bin = l.host->extra_binaries.virtiofsd;
    const std::string &sock = l.exec.virtiofs_socket;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (sock.size() >= sizeof addr.sun_path)
        throw Error("virtiofs socket path `" + sock + "` is too long", ENAMETOOLONG);
    std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
    UniqueFd lfd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!lfd)
        throw sys_error("socket for virtiofsd");
    if (::bind(lfd.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof addr) < 0)
        throw sys_error("bind the virtiofs socket `" + sock + "`");
    if (::lchown(sock.c_str(), l.spec.uid, l.spec.gid) < 0)
        throw sys_error("chown `" + sock + "`");
    if (::listen(lfd.get(), 1) < 0)
        throw sys_error("listen on `" + sock + "`");
    // No read-only option: a read-only share is the read-only bind it serves.
    std::vector<std::string> words = {bin,  "--fd=3",        "-o", "source=" + l.exec.shared_path,
                                      "-o", "cache=auto",    "-o", "sandbox=chroot",
                                      "-o", "log_level=warn"};
    std::vector<char *> argv;
    for (auto &w : words)
        argv.push_back(w.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0)
        throw sys_error("fork virtiofsd");
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(1);
        reset_signals();
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0)
            ::dup2(null, 0);
        // fd 3 without close-on-exec (dup2 onto itself would keep the flag).
        if (lfd.get() == 3 ? ::fcntl(3, F_SETFD, 0) < 0 : ::dup2(lfd.get(), 3) < 0)
            ::_exit(126);
        ::close_range(4, ~0U, 0);
        static char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
        char *envp[] = {path_env, nullptr};
        ::execve(argv[0], argv.data(), envp);
        ::_exit(127);
    }
}

// At start: the rest of the VMM's preparation, then exec. The exec report goes out right
// before execve; an error report after it is what start shows.
[[noreturn]] void become_vmm(InitArgs &a, int fifo)
{
    Launch &l = *a.launch;
    try {
        ts::mark(ts::Step::rx_joined_netns);
        if (l.network) {
            // docker and CNI configure the namespace after create: look now.
            if (auto gn = net::setup_guest_network(l.spec.uid, l.spec.gid, a.state.id)) {
                unikernels::Net n{gn->tap,     gn->ip,  gn->mask,
                                  gn->gateway, gn->mac, gn->dns.empty() ? l.dns : gn->dns,
                                  gn->mtu};
                l.params.net = n;  // build_command gives the VMM's plan the same
                l.exec.guest_cmdline = l.guest->command_line(l.params);
                // Tell start which interface and tap carry the guest, for teardown at delete.
                proto::report_network(fifo, gn->container_iface, gn->tap);
            }
        }
        ts::mark(ts::Step::rx_network_setup_completed);
        l.command = build_command(l);  // once more, with the network
        vmm::Command &cmd = l.command;
        // Files outside /tmp were written into the root at create (it is read-only now).
        for (const auto &[path, content] : cmd.files)
            if (path.rfind("/tmp/", 0) == 0)
                write_file_atomic(path, content, 0644);
        if (::chdir("/") < 0)
            throw sys_error("chdir `/`");
        if (l.exec.shared_fs == "virtiofs")
            start_virtiofsd(l);  // root still, before the container's limits and labels
        apply_rlimits(l.spec.rlimits);
        set_exec_labels(l.spec);
        drop_privileges(l.spec);
        if (l.spec.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            throw sys_error("prctl no_new_privs");
        std::vector<char *> argv;
        for (auto &w : cmd.argv)
            argv.push_back(w.data());
        argv.push_back(nullptr);
        // The VMM gets a clean environment: the container's env goes to the guest.
        static char path_env[] =
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        char *envp[] = {path_env, nullptr};
        for (const UniqueFd &fd : l.device_fds)
            ::fcntl(fd.get(), F_SETFD, 0);  // the VMM holds the device until it opens it itself
        reset_signals();
        proto::report_exec(fifo);
        // Last: a syscall filter (solo5-hvt) allows little more than write and execve.
        ts::mark(ts::Step::rx_execve_hypervisor);
        l.vmm->pre_exec(l.exec);
        ::execve(argv[0], argv.data(), envp);
        throw sys_error("exec `" + cmd.argv[0] + "`");
    } catch (const std::exception &e) {
        proto::report_error(fifo, e.what());
        ::_exit(1);
    }
}

}  // namespace

void close_fds_except(std::vector<int> keep)
{
    std::sort(keep.begin(), keep.end());
    unsigned from = 3;
    for (int fd : keep) {
        if (fd < 3)
            continue;
        if (static_cast<unsigned>(fd) > from)
            ::close_range(from, fd - 1, 0);
        from = fd + 1;
    }
    ::close_range(from, ~0U, 0);
}

void init_main(InitArgs &a)
{
    Launch &l = *a.launch;
    try {
        // Die with create until create is done with us.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ts::mark(ts::Step::rx_create_invoked);
        std::vector<int> keep = {a.sync_fd, a.fifo_fd, a.console_slave, ts::fd()};
        for (const auto &fd : l.device_fds)
            keep.push_back(fd.get());
        for (const auto &fb : l.file_binds)
            keep.push_back(fb.fd.get());
        for (const auto &db : l.shared_binds)
            keep.push_back(db.fd.get());
        close_fds_except(keep);  // includes create's lock on the state dir
        ts::mark(ts::Step::rx_close_pipes_and_setup_base);

        UniqueFd carried = wait_go(a.sync_fd);  // early: cloned; else: placed in the cgroups
        if (a.netns_from_go)
            join_netns_from_go(carried);
        // Held from the copy of the host's mounts until they are detached in the monitor
        // root: a parallel create checks its block rootfs only outside that window.
        rootfs::MountCopyLock copying(rootfs::MountCopyLock::shared);
        join_namespaces(l.spec);
        // In the container's namespaces now: its sysctls and OOM score, before /proc/sys
        // becomes read-only in the monitor root.
        write_sysctls(l.spec.sysctl);
        if (l.spec.oom_score_adj)
            write_oom_score_adj(*l.spec.oom_score_adj);
        // The path may name another namespace now than at create: decide on the one joined.
        if (l.network && net::is_host_netns(net::netns_id("/proc/self/ns/net"), l.host_netns))
            l.network = false;
        std::optional<rootfs::MonitorRootBuild> root;
        if (a.early) {
            set_hostname(a);
            root.emplace(begin_monitor_root(l));
        } else {
            unshare_cgroup_namespace(l.spec);
        }
        proto::send_stage(a.sync_fd, proto::Stage::ns_ready, "init: sync");
        wait_go(a.sync_fd);  // early: placed in the cgroups; else: hooks done
        ts::mark(ts::Step::rx_received_ack);
        linux::unpin_from_cpu(a.cpu_pin);
        if (a.early) {
            unshare_cgroup_namespace(l.spec);
        } else {
            set_hostname(a);
            root.emplace(begin_monitor_root(l));
        }
        root->finish();
        ts::mark(ts::Step::rx_disk_setup_completed);
        // As runc: the pid as seen in the container's pid namespace.
        a.state.pid = ::getpid();
        run_hooks(l.spec.hooks.create_container, "createContainer",
                  oci_state_json(a.state, Status::creating, false), 0);
        enter_monitor_root(l);
        copying.release();

        if (a.console_slave >= 0)
            become_console(a.console_slave);
        install_parked_handlers();
        ::prctl(PR_SET_PDEATHSIG, 0);
        proto::send_stage(a.sync_fd, proto::Stage::ready, "init: sync");
        ::close(a.sync_fd);
    } catch (const std::exception &e) {
        proto::send_error(a.sync_fd, e.what());
        proto::test_sync_reset_order(a.sync_fd, true);
        ::_exit(1);
    }

    // Park: opening the fifo for writing blocks until start opens it for reading.
    std::string fifo_path = "/proc/self/fd/" + std::to_string(a.fifo_fd);
    int fifo;
    while ((fifo = ::open(fifo_path.c_str(), O_WRONLY | O_CLOEXEC)) < 0 && errno == EINTR) {}
    if (fifo < 0)
        ::_exit(1);
    ::close(a.fifo_fd);
    ts::mark(ts::Step::rx_received_start_msg);
    become_vmm(a, fifo);
}

}  // namespace urunc::container
