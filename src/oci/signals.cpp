#include "oci/signals.hpp"

#include "base/error.hpp"

#include <csignal>
#include <cstdlib>
#include <strings.h>

namespace urunc::oci {

namespace {
struct SigName {
    const char *name;
    int num;
};
const SigName kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};
}  // namespace

int parse_signal(const std::string &s)
{
    if (s.empty())
        return SIGTERM;
    char *end = nullptr;
    long n = std::strtol(s.c_str(), &end, 10);
    if (end && *end == '\0') {
        if (n <= 0 || n > SIGRTMAX)
            throw Error("unknown signal `" + s + "`");
        return static_cast<int>(n);
    }
    std::string name = s;
    if (name.size() > 3 && strncasecmp(name.c_str(), "SIG", 3) == 0)
        name = name.substr(3);
    for (const auto &sig : kSignals)
        if (strcasecmp(sig.name, name.c_str()) == 0)
            return sig.num;
    throw Error("unknown signal `" + s + "`");
}

}  // namespace urunc::oci
