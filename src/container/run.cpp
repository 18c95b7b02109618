// run: create + start, then (foreground) forward signals to the VMM, wait for it, delete,
// and exit with its status (128+signal when killed), as runc does.
#include "container/container_ops.hpp"

#include "base/error.hpp"
#include "base/rollback.hpp"
#include "base/log.hpp"

#include "base/file.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <optional>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace urunc::container {

namespace {

// Foreground run with a terminal: our terminal <-> the pty master, as runc does.
class TerminalProxy {
public:
    explicit TerminalProxy(int master) : master_(master)
    {
        if (::isatty(0) && ::tcgetattr(0, &saved_) == 0) {
            struct termios raw = saved_;
            ::cfmakeraw(&raw);
            raw_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
        }
        resize();
    }
    ~TerminalProxy()
    {
        if (raw_)
            ::tcsetattr(0, TCSANOW, &saved_);
    }
    void resize()
    {
        struct winsize ws;
        if (::ioctl(0, TIOCGWINSZ, &ws) == 0)
            ::ioctl(master_, TIOCSWINSZ, &ws);
    }
    // Copy what is readable; false once the master is gone (the VMM closed the tty).
    bool pump(short stdin_ev, short master_ev)
    {
        char buf[4096];
        if (stdin_ev & POLLIN) {
            ssize_t n = ::read(0, buf, sizeof buf);
            if (n > 0)
                write_all(master_, std::string_view(buf, static_cast<size_t>(n)), "console");
            else
                stdin_open_ = false;
        } else if (stdin_ev & (POLLHUP | POLLERR)) {
            stdin_open_ = false;
        }
        if (master_ev & POLLIN) {
            ssize_t n = ::read(master_, buf, sizeof buf);
            if (n > 0) {
                write_all(1, std::string_view(buf, static_cast<size_t>(n)), "stdout");
                return true;
            }
            return false;
        }
        return !(master_ev & (POLLHUP | POLLERR));
    }
    bool stdin_open() const { return stdin_open_; }

private:
    int master_;
    struct termios saved_ {};
    bool raw_ = false;
    bool stdin_open_ = true;
};

// Foreground: forward signals to the VMM, proxy its terminal, and reap it. Returns its
// wait status.
int wait_for_vmm(const Created &c)
{
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
        sigaddset(&set, sig);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    // The VMM is our child: its exit wakes us through SIGCHLD on this fd at once (no
    // polling, no timeout), and the container is deleted right after it is reaped.
    UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
    if (!sfd)
        throw sys_error("signalfd");
    int status = 0;
    std::optional<TerminalProxy> tty;
    if (c.console)
        tty.emplace(c.console.get());
    bool master_open = static_cast<bool>(c.console);
    for (;;) {
        pid_t r = ::waitpid(c.pid, &status, WNOHANG);
        if (r == c.pid)
            break;
        if (r < 0 && errno != EINTR)
            throw sys_error("wait for the VMM");
        struct pollfd p[3] = {{sfd.get(), POLLIN, 0},
                              {master_open ? c.console.get() : -1, POLLIN, 0},
                              {tty && tty->stdin_open() ? 0 : -1, POLLIN, 0}};
        if (::poll(p, 3, -1) < 0 && errno != EINTR)
            throw sys_error("poll");
        if (tty && (p[1].revents || p[2].revents))
            master_open = tty->pump(p[2].revents, p[1].revents) && master_open;
        if (!(p[0].revents & POLLIN))
            continue;
        struct signalfd_siginfo si;
        ssize_t n = ::read(sfd.get(), &si, sizeof si);
        if (n != sizeof si)
            continue;
        if (si.ssi_signo == SIGWINCH && tty)
            tty->resize();
        else if (si.ssi_signo != SIGCHLD)
            ::kill(c.pid, static_cast<int>(si.ssi_signo));
    }
    // What the VMM printed last is still in the pty.
    if (tty) {
        while (master_open) {
            struct pollfd p = {c.console.get(), POLLIN, 0};
            if (::poll(&p, 1, 0) <= 0)
                break;
            master_open = tty->pump(0, p.revents);
        }
        tty.reset();
    }
    sfd.reset();
    return status;
}

}  // namespace

int run(const Globals &g, const RunOptions &ro)
{
    CreateOptions o = ro.create;
    bool detach = ro.detach, keep = ro.keep;
    o.keep_console = !detach && o.console_socket.empty();
    // Nothing can come between our create and our start: the VMM need not wait for us.
    o.start_at_once = true;
    Created c = create_container(g, o);
    std::optional<Started> started;
    {
        Rollback undo("cleanup after failed start");
        undo.add([&] {
            remove(g, DeleteOptions{o.id, true});
            return std::string();
        });
        if (c.exec_fifo)
            started = finish_started(g, o.id, std::move(c.exec_fifo));
        else
            start_container(g, o.id);
        undo.commit();
    }
    if (detach)
        return 0;

    int status = wait_for_vmm(c);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!keep) {
        try {
            // The VMM is reaped: nothing to kill, and we hold its state and spec.
            if (started)
                remove_reaped(g, *started);
            else
                remove(g, DeleteOptions{o.id, true});
        } catch (const Error &e) {
            log::error("{}", e.what());
            return code ? code : 1;
        }
    }
    return code;
}

}  // namespace urunc::container
