#include "base/subprocess.hpp"

#include "base/error.hpp"
#include "base/fd.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace urunc {

namespace {

// Child side, between fork and exec: async-signal-safe calls only; everything it touches was
// built before the fork.
[[noreturn]] void exec_child(char *const *argv, const ProcessOptions &o, int out_fd,
                             const char *who)
{
    if (o.out == ProcessOptions::Out::capture)
        ::dup2(out_fd, STDOUT_FILENO);
    else if (o.out == ProcessOptions::Out::to_stderr)
        ::dup2(STDERR_FILENO, STDOUT_FILENO);
    if (o.quiet) {
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            ::dup2(null, STDIN_FILENO);
            ::dup2(null, STDERR_FILENO);
        }
    }
    static char *no_env[] = {nullptr};
    if (o.search_path && o.empty_env)
        ::execvpe(argv[0], argv, no_env);
    else if (o.search_path)
        ::execvp(argv[0], argv);
    else
        ::execve(argv[0], argv, o.empty_env ? no_env : environ);
    const char *err = std::strerror(errno);
    for (const char *s : {who, ": exec `", static_cast<const char *>(argv[0]), "`: ", err, "\n"})
        if (ssize_t w = ::write(STDERR_FILENO, s, std::strlen(s)); w < 0)
            break;
    ::_exit(127);
}

}  // namespace

bool ProcessResult::ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string ProcessResult::describe() const
{
    if (WIFEXITED(status))
        return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) +
               ")";
    return "status " + std::to_string(status);
}

int shell_status(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

ProcessResult run_process(const std::vector<std::string> &argv, const ProcessOptions &opts)
{
    if (argv.empty())
        throw Error("run: no program given", EINVAL);
    std::vector<char *> av;
    for (const auto &a : argv)
        av.push_back(const_cast<char *>(a.c_str()));
    av.push_back(nullptr);
    const std::string who = opts.who.empty() ? "urunc" : opts.who;

    UniqueFd rd, wr;
    if (opts.out == ProcessOptions::Out::capture) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) < 0)
            throw sys_error("pipe for `" + argv[0] + "`");
        rd.reset(p[0]);
        wr.reset(p[1]);
    }
    pid_t pid = ::fork();
    if (pid < 0)
        throw sys_error("fork for `" + argv[0] + "`");
    if (pid == 0)
        exec_child(av.data(), opts, wr.get(), who.c_str());
    wr.reset();

    ProcessResult r;
    if (rd) {
        char buf[4096];
        for (;;) {
            ssize_t n = ::read(rd.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            size_t room = opts.max_output - r.out.size();
            r.out.append(buf, std::min(room, static_cast<size_t>(n)));
        }
    }
    while (::waitpid(pid, &r.status, 0) < 0)
        if (errno != EINTR)
            throw sys_error("wait for `" + argv[0] + "`");
    return r;
}

}  // namespace urunc
