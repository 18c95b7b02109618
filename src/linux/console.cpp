#include "linux/console.hpp"

#include "base/error.hpp"
#include "base/fd_passing.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace urunc::linux {

Pty open_pty()
{
    Pty pty;
    pty.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!pty.master)
        throw sys_error("open `/dev/ptmx`");
    if (::grantpt(pty.master.get()) < 0)
        throw sys_error("grantpt");
    if (::unlockpt(pty.master.get()) < 0)
        throw sys_error("unlockpt");
    char name[64];
    if (int e = ::ptsname_r(pty.master.get(), name, sizeof name))
        throw sys_error("ptsname", e);
    pty.slave_name = name;
    pty.slave.reset(::ioctl(pty.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!pty.slave && errno == EINVAL)  // kernels before 4.13
        pty.slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!pty.slave)
        throw sys_error("open `" + pty.slave_name + "`");
    return pty;
}

void set_winsize(int fd, unsigned rows, unsigned cols)
{
    struct winsize ws = {};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    if (::ioctl(fd, TIOCSWINSZ, &ws) < 0)
        throw sys_error("set console size");
}

void send_console_master(const std::string &socket_path, int master_fd, const std::string &name)
{
    const std::string what = "console socket `" + socket_path + "`";
    // The receiver (go-runc's recvFd) rejects an empty or 4 KiB+ payload.
    if (name.empty() || name.size() >= 4096)
        throw Error(what + ": console name must be 1 to 4095 bytes");
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path)
        throw Error(what + ": path too long for a unix socket");
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);

    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock)
        throw sys_error(what + ": socket");
    int r;
    while ((r = ::connect(sock.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr)) < 0 &&
           errno == EINTR) {}
    if (r < 0)
        throw sys_error("connect to " + what);

    ssize_t n = send_with_fd(sock.get(), name.data(), name.size(), master_fd, MSG_NOSIGNAL);
    if (n < 0)
        throw sys_error("send the console master to " + what);
    // Unix stream sockets take a message this small whole; a short send would split what
    // the receiver reads with a single recvmsg.
    if (static_cast<size_t>(n) != name.size())
        throw Error(what + ": short send of the console name");
}

void become_console(int slave_fd)
{
    // A session leader already (e.g. set up by our caller) keeps its session.
    if (::setsid() < 0 && ::getsid(0) != ::getpid())
        throw sys_error("setsid");
    if (::ioctl(slave_fd, TIOCSCTTY, 0) < 0)
        throw sys_error("make the console the controlling terminal");
    for (int fd = 0; fd < 3; ++fd)
        if (::dup2(slave_fd, fd) < 0)
            throw sys_error("dup2 the console to fd " + std::to_string(fd));
    if (slave_fd > 2)
        ::close(slave_fd);
}

}  // namespace urunc::linux
