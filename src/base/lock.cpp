#include "base/lock.hpp"

#include "base/error.hpp"

#include <sys/file.h>

#include <cerrno>

namespace urunc {

namespace {

int op_of(LockMode mode) { return mode == LockMode::shared ? LOCK_SH : LOCK_EX; }

}  // namespace

void lock_fd(int fd, LockMode mode, const std::string &what)
{
    while (::flock(fd, op_of(mode)) < 0)
        if (errno != EINTR)
            throw sys_error("lock `" + what + "`");
}

bool try_lock_fd(int fd, LockMode mode, const std::string &what)
{
    while (::flock(fd, op_of(mode) | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return false;
        if (errno != EINTR)
            throw sys_error("lock `" + what + "`");
    }
    return true;
}

}  // namespace urunc
