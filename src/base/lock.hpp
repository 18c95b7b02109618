// flock(2) on an open file, the one way urunc takes a lock: EINTR retried, errors named.
#pragma once

#include <string>

namespace urunc {

enum class LockMode { shared, exclusive };

// Blocks until the lock is granted. Throws Error (errno, "lock `<what>`") on failure.
void lock_fd(int fd, LockMode mode, const std::string &what);

// Takes the lock only if free: false when another holder has it. Throws on other errors.
bool try_lock_fd(int fd, LockMode mode, const std::string &what);

}  // namespace urunc
