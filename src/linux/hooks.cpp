#include "linux/hooks.hpp"

#include "base/error.hpp"
#include "base/pidfd.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"
#include "base/log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <cstring>

extern char **environ;

namespace urunc::linux {
namespace {

constexpr size_t kKeep = 1024;  // bytes of each captured stream kept for the error text

struct Pipe {
    UniqueFd r, w;
};

Pipe make_pipe()
{
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0)
        throw sys_error("pipe");
    return {UniqueFd(p[0]), UniqueFd(p[1])};
}

// The state goes into the pipe before the hook starts, so a hook that never reads stdin can
// neither block us nor hit us with SIGPIPE.
UniqueFd stdin_with(const std::string &data)
{
    Pipe p = make_pipe();
    if (data.size() > 65536) {
        int cap = ::fcntl(p.w.get(), F_SETPIPE_SZ, static_cast<int>(data.size()));
        if (cap < 0 || static_cast<size_t>(cap) < data.size())
            throw sys_error(
                fmt::format("hook stdin: {} bytes of state do not fit a pipe", data.size()));
    }
    write_all(p.w.get(), data, "hook stdin pipe");
    return std::move(p.r);
}

struct NsFd {
    const char *type;
    UniqueFd fd;
};

// The namespaces of ns_pid that differ from ours; pid last, since joining it only affects
// the children the caller makes afterwards.
std::vector<NsFd> namespaces_of(pid_t ns_pid)
{
    std::vector<NsFd> out;
    for (const char *type : {"ipc", "uts", "net", "cgroup", "pid"}) {
        std::string theirs = fmt::format("/proc/{}/ns/{}", ns_pid, type);
        std::string ours = fmt::format("/proc/self/ns/{}", type);
        struct stat a, b;
        if (::stat(theirs.c_str(), &a) < 0)
            throw sys_error("stat `" + theirs + "`");
        if (::stat(ours.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            continue;
        UniqueFd fd(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd)
            throw sys_error("open `" + theirs + "`");
        out.push_back({type, std::move(fd)});
    }
    return out;
}

// Child side, between fork and exec: only async-signal-safe calls, no allocation.
[[noreturn]] void child_fail(const char *what, const char *arg)
{
    const char *err = std::strerror(errno);
    for (const char *s : {what, " ", arg, ": ", err, "\n"})
        (void)!::write(2, s, std::strlen(s));
    ::_exit(127);
}

[[noreturn]] void child_main(int in, int out, int err, const std::vector<NsFd> &ns, int pid_pipe,
                             const char *path, char *const argv[], char *const envp[])
{
    // Lift the three pipes above 2 first so no dup2 below clobbers another.
    int hi[3] = {::fcntl(in, F_DUPFD, 3), ::fcntl(out, F_DUPFD, 3), ::fcntl(err, F_DUPFD, 3)};
    for (int i = 0; i < 3; ++i)
        if (hi[i] < 0 || ::dup2(hi[i], i) < 0)
            child_fail("dup2", "stdio");
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s)
        ::sigaction(s, &dfl, nullptr);
    bool joined_pid = false;
    for (const auto &n : ns) {
        if (::setns(n.fd.get(), 0) < 0)
            child_fail("setns", n.type);
        joined_pid = joined_pid || std::strcmp(n.type, "pid") == 0;
    }
    if (joined_pid) {
        // setns(pid) only moves our future children. Make the hook such a child, but as a
        // sibling (CLONE_PARENT) so that the runtime waits for and times out the hook itself.
        long child = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
        if (child < 0)
            child_fail("clone", "into the pid namespace");
        if (child > 0) {
            pid_t p = static_cast<pid_t>(child);
            ::_exit(::write(pid_pipe, &p, sizeof p) == sizeof p ? 0 : 127);
        }
    }
    ::close_range(3, ~0U, 0);
    ::execve(path, argv, envp);
    child_fail("exec", path);
}

struct Capture {
    UniqueFd fd;
    std::string data;
    bool cut = false;
};

// Reads what is there now; false at EOF (or error), true if the pipe may have more.
bool drain(Capture &c)
{
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
        if (n > 0) {
            size_t room = kKeep - std::min(kKeep, c.data.size());
            c.data.append(buf, std::min(room, static_cast<size_t>(n)));
            c.cut = c.cut || static_cast<size_t>(n) > room;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && errno == EAGAIN;
    }
}

std::string one_line(const Capture &c)
{
    std::string s = c.data;
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.pop_back();
    for (auto &ch : s)
        if (ch == '\n' || ch == '\r')
            ch = ' ';
    return c.cut ? s + "..." : s;
}

std::string describe(int status)
{
    if (WIFEXITED(status))
        return fmt::format("exit status {}", WEXITSTATUS(status));
    std::string sig = WIFSIGNALED(status) ? ::strsignal(WTERMSIG(status)) : "unknown";
    if (!sig.empty())
        sig[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(sig[0])));
    return "signal: " + sig;  // as Go prints it: "signal: killed"
}

pid_t reap(pid_t pid, int &status)
{
    pid_t r;
    while ((r = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {}
    return r;
}

// The hook's argv and envp: pointers into `args` and the hook, which outlive the exec.
struct HookExecArgs {
    std::vector<std::string> args;
    std::vector<char *> argv, envp;

    explicit HookExecArgs(const Hook &hook)
        : args(hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args)
    {
        for (auto &a : args)
            argv.push_back(const_cast<char *>(a.c_str()));
        argv.push_back(nullptr);
        for (auto &e : hook.env)
            envp.push_back(const_cast<char *>(e.c_str()));
        envp.push_back(nullptr);
    }
    HookExecArgs(const HookExecArgs &) = delete;
    HookExecArgs &operator=(const HookExecArgs &) = delete;
};

// A hook that joins a pid namespace runs as the sibling of the helper we forked: the helper
// is reaped and the sibling's pid read from the pipe. -1 when the helper failed before the
// hook existed; its status says why.
pid_t sibling_pid(pid_t helper, int pids_r, int &status)
{
    reap(helper, status);
    pid_t sibling = 0;
    if (::read(pids_r, &sibling, sizeof sibling) == sizeof sibling)
        return sibling;
    if (status == 0)
        status = 127 << 8;
    return -1;
}

// Waits for the hook (pid, or -1 when there is none) to exit, reading its stdout and stderr
// meanwhile, killing it at the hook's timeout. Fills `status`; true when it timed out.
bool wait_capturing(const Hook &hook, pid_t pid, Capture (&cap)[2], int &status)
{
    UniqueFd pidfd = pid > 0 ? pidfd_open(pid) : UniqueFd();
    if (pid > 0 && !pidfd) {
        int e = errno;
        ::kill(pid, SIGKILL);
        reap(pid, status);
        throw sys_error("pidfd_open", e);
    }
    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + std::chrono::seconds(hook.timeout);
    bool timed_out = false;
    struct pollfd fds[3] = {
        {pidfd.get(), POLLIN, 0}, {cap[0].fd.get(), POLLIN, 0}, {cap[1].fd.get(), POLLIN, 0}};
    while (pid > 0) {
        int ms = -1;
        if (hook.timeout > 0) {
            auto left =
                std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
            if (left <= 0) {
                timed_out = true;
                pidfd_send_signal(pidfd.get(), SIGKILL);
                break;
            }
            ms = static_cast<int>(left);
        }
        if (::poll(fds, 3, ms) < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            ::kill(pid, SIGKILL);
            reap(pid, status);
            throw sys_error("poll on hook", e);
        }
        for (int i = 1; i < 3; ++i)
            if (fds[i].revents && !drain(cap[i - 1]))
                fds[i].fd = -1;  // EOF: stop watching it
        if (fds[0].revents)
            break;
    }
    if (pid > 0)
        reap(pid, status);
    // Whatever the hook wrote is in the pipes now; anything it left running in the
    // background and still holding them is not waited for.
    for (int i = 1; i < 3; ++i)
        if (fds[i].fd >= 0)
            drain(cap[i - 1]);
    return timed_out;
}

// Runs one hook; returns "" on success, else the reason followed by its output.
std::string run_one(const Hook &hook, const std::string &state_json, pid_t ns_pid)
{
    HookExecArgs x(hook);
    std::vector<NsFd> ns = ns_pid > 0 ? namespaces_of(ns_pid) : std::vector<NsFd>{};
    bool via_sibling = !ns.empty() && std::strcmp(ns.back().type, "pid") == 0;
    UniqueFd in = stdin_with(state_json);
    Pipe out = make_pipe(), err = make_pipe(), pids = make_pipe();

    pid_t pid = ::fork();
    if (pid < 0)
        throw sys_error("fork");
    if (pid == 0)
        child_main(in.get(), out.w.get(), err.w.get(), ns, pids.w.get(), hook.path.c_str(),
                   x.argv.data(), hook.has_env ? x.envp.data() : environ);
    in.reset();
    out.w.reset();
    err.w.reset();
    pids.w.reset();
    Capture cap[2] = {{std::move(out.r), {}, false}, {std::move(err.r), {}, false}};
    for (auto &c : cap)
        ::fcntl(c.fd.get(), F_SETFL, O_NONBLOCK);

    int status = 0;
    if (via_sibling)
        pid = sibling_pid(pid, pids.r.get(), status);
    bool timed_out = wait_capturing(hook, pid, cap, status);
    if (!timed_out && status == 0)
        return "";
    std::string why = timed_out ? fmt::format("hook ran past specified timeout of {:.1f}s",
                                              static_cast<double>(hook.timeout))
                                : describe(status);
    return fmt::format("{}, stdout: {}, stderr: {}", why, one_line(cap[0]), one_line(cap[1]));
}

}  // namespace

void run_hooks(const std::vector<Hook> &hooks, std::string_view stage,
               const std::string &state_json, pid_t ns_pid)
{
    for (size_t i = 0; i < hooks.size(); ++i) {
        const Hook &h = hooks[i];
        log::debug("running {} hook #{}: {}", stage, i, h.path);
        std::string failure;
        try {
            failure = run_one(h, state_json, ns_pid);
        } catch (const Error &e) {
            throw wrap(fmt::format("error running {} hook #{}: {}", stage, i, h.path), e);
        }
        if (!failure.empty())
            throw Error(
                fmt::format("error running {} hook #{}: {}: {}", stage, i, h.path, failure));
    }
}

}  // namespace urunc::linux
