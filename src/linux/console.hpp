// The terminal of a container: a pty pair, the console-socket hand-off to the shim (runc's
// protocol: connect to the --console-socket unix socket and send the pty master as one
// SCM_RIGHTS fd, with the pty's name as the data) and the child side that adopts the slave.
#pragma once

#include "linux/namespace.hpp"

#include "base/fd.hpp"

#include <string>

namespace urunc::linux {

struct Pty {
    UniqueFd master;
    UniqueFd slave;
    std::string slave_name;  // /dev/pts/N
};

// A new pty pair, both ends O_NOCTTY|O_CLOEXEC. The slave is opened through the master
// (TIOCGPTPEER) so no path lookup can swap it; ptsname is the fallback on old kernels.
Pty open_pty();

// TIOCSWINSZ on a pty fd (either end).
void set_winsize(int fd, unsigned rows, unsigned cols);

// Connects to the AF_UNIX SOCK_STREAM socket at socket_path and sends one message: data =
// `name` (non-empty, under 4096 bytes), control = one SCM_RIGHTS cmsg carrying master_fd
// alone. Errors name the socket path.
void send_console_master(const std::string &socket_path, int master_fd, const std::string &name);

// Child side, before exec: a new session with slave_fd as controlling terminal and as
// fds 0, 1 and 2 (slave_fd itself is closed if above 2).
void become_console(int slave_fd);

}  // namespace urunc::linux
