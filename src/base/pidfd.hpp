// Process file descriptors: a handle on one process that a reused pid cannot fool.
#pragma once

#include "base/fd.hpp"

#include <sys/types.h>

namespace urunc {

// pidfd_open(2). An empty UniqueFd with errno set when it fails (ESRCH: no such process).
UniqueFd pidfd_open(pid_t pid);

// pidfd_send_signal(2); -1 with errno on failure.
int pidfd_send_signal(int pidfd, int sig);

}  // namespace urunc
