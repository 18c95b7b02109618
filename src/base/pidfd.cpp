#include "base/pidfd.hpp"

#include <sys/syscall.h>
#include <unistd.h>

namespace urunc {

UniqueFd pidfd_open(pid_t pid)
{
    return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

int pidfd_send_signal(int pidfd, int sig)
{
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace urunc
