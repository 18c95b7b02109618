// Handing a file descriptor to another process over a unix socket (SCM_RIGHTS).
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace urunc {

// One message of `size` bytes with `fd` attached (none when fd < 0); sendmsg's result, EINTR
// retried, errno set when -1. `flags` as sendmsg's (MSG_NOSIGNAL).
ssize_t send_with_fd(int sock, const void *data, size_t size, int fd, int flags) noexcept;

}  // namespace urunc
