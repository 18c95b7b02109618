// run: create + start, then (foreground) forward signals to the VMM, wait for it, delete,
// and exit with its status (128+signal when killed), as runc does.
#include "oci/container_ops.hpp"

#include "base/error.hpp"
#include "base/log.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace urunc::oci {

int run(const Globals &g, const CreateOptions &o, bool detach, bool keep)
{
    Created c = create_container(g, o);
    try {
        start_container(g, o.id);
    } catch (...) {
        try {
            remove(g, o.id, true);
        } catch (const Error &e) {
            log::warn("cleanup after failed start: {}", e.what());
        }
        throw;
    }
    if (detach)
        return 0;

    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
        sigaddset(&set, sig);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    int sfd = ::signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0)
        throw sys_error("signalfd");
    int status = 0;
    for (;;) {
        pid_t r = ::waitpid(c.pid, &status, WNOHANG);
        if (r == c.pid)
            break;
        if (r < 0 && errno != EINTR)
            throw sys_error("wait for the VMM");
        struct signalfd_siginfo si;
        ssize_t n = ::read(sfd, &si, sizeof si);
        if (n != sizeof si)
            continue;
        if (si.ssi_signo != SIGCHLD)
            ::kill(c.pid, static_cast<int>(si.ssi_signo));
    }
    ::close(sfd);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!keep) {
        try {
            remove(g, o.id, true);
        } catch (const Error &e) {
            log::error("{}", e.what());
            return code ? code : 1;
        }
    }
    return code;
}

} // namespace urunc::oci
