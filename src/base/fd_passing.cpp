#include "base/fd_passing.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace urunc {

ssize_t send_with_fd(int sock, const void *data, size_t size, int fd, int flags) noexcept
{
    iovec iov{const_cast<void *>(data), size};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    while ((n = ::sendmsg(sock, &msg, flags)) < 0 && errno == EINTR) {}
    return n;
}

}  // namespace urunc
