#include "container/init_protocol.hpp"

#include "base/error.hpp"
#include "base/fd_passing.hpp"
#include "base/file.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace urunc::container::proto {
namespace {

std::string describe_byte(char c)
{
    char buf[16];
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u < 0x7f)
        std::snprintf(buf, sizeof buf, "'%c'", c);
    else
        std::snprintf(buf, sizeof buf, "0x%02x", u);
    return buf;
}

}  // namespace

const char *stage_name(Stage s)
{
    switch (s) {
    case Stage::go: return "go";
    case Stage::ns_ready: return "ns_ready";
    case Stage::ready: return "ready";
    case Stage::error: return "error";
    }
    return "unknown";
}

namespace {

// The text of an error report (Stage::error + message), if the message is one.
std::optional<std::string> error_report(const char *buf, ssize_t n)
{
    if (n > 0 && buf[0] == static_cast<char>(Stage::error))
        return std::string(buf + 1, static_cast<size_t>(n - 1));
    return std::nullopt;
}

// An error report the peer queued before it closed its end, if any (never blocks).
std::optional<std::string> queued_error(int fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0 || (n < 0 && errno == EINTR))
        if (auto report = error_report(buf, n))
            return report;
    return std::nullopt;
}

}  // namespace

namespace {

void send_message(int fd, Stage s, int attached, const char *who)
{
    char b = static_cast<char>(s);
    if (send_with_fd(fd, &b, 1, attached, MSG_NOSIGNAL) < 0) {
        int e = errno;
        // The peer failed and exited before this stage reached it (create's second go can
        // leave after the init's error when it goes out early): its report says why.
        if (e == EPIPE || e == ECONNRESET)
            if (auto report = queued_error(fd))
                throw Error(*report);
        throw sys_error(std::string(who) + ": send " + stage_name(s), e);
    }
}

}  // namespace

void send_stage(int fd, Stage s, const char *who) { send_message(fd, s, -1, who); }

void send_stage_with_fd(int fd, Stage s, int attached, const char *who)
{
    send_message(fd, s, attached, who);
}

void send_error(int fd, std::string_view message) noexcept
{
    std::string msg = static_cast<char>(Stage::error) + std::string(message);
    ssize_t r;
    do {
        r = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
}

UniqueFd expect_stage_with_fd(int fd, Stage want, const std::string &closed_message)
{
    char buf[4096];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n;
    bool reset_seen = false;
    for (;;) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if ((n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC)) >= 0)
            break;
        // A peer that closed its end with a message of ours unread (create's early second
        // go, when the init failed) leaves ECONNRESET, which a SEQPACKET read returns ahead
        // of what the peer queued before it closed. Reading it clears it: the next read
        // gives the queued report, or end of file.
        if (errno == ECONNRESET && !reset_seen) {
            reset_seen = true;
            continue;
        }
        if (errno != EINTR)
            throw sys_error(std::string("sync: waiting for ") + stage_name(want));
    }
    // Taken first, so that every return and throw below closes it.
    UniqueFd got;
    for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int))) {
            int passed;
            std::memcpy(&passed, CMSG_DATA(c), sizeof passed);
            got.reset(passed);
        }
    if (msg.msg_flags & MSG_CTRUNC)
        throw Error(std::string("sync: stage ") + stage_name(want) +
                    " came with more file descriptors than one");
    if (n == 0)
        throw Error(closed_message);
    if (auto report = error_report(buf, n))
        throw Error(*report);
    if (n == 1 && buf[0] == static_cast<char>(want))
        return got;
    throw Error(std::string("sync: expected stage ") + stage_name(want) + ", got " +
                (n == 1 ? "byte " : "a " + std::to_string(n) + "-byte message starting with ") +
                describe_byte(buf[0]));
}

void expect_stage(int fd, Stage want, const std::string &closed_message)
{
    expect_stage_with_fd(fd, want, closed_message);
}

void test_sync_reset_order([[maybe_unused]] int fd, [[maybe_unused]] bool init_side)
{
#ifdef URUNC_TEST_SEAMS
    if (const char *v = std::getenv("URUNC_TEST_SYNC_RESET"); v && *v == '1') {
        // A SEQPACKET socket whose peer closed polls as POLLHUP.
        pollfd p{fd, static_cast<short>(init_side ? POLLIN : POLLHUP), 0};
        while (::poll(&p, 1, 5000) < 0 && errno == EINTR) {}
    }
#endif
}

void report_network(int fifo, std::string_view iface, std::string_view tap)
{
    // "N<iface> <tap>\n": interface names hold no whitespace.
    write_all(fifo, kFifoNetwork + std::string(iface) + " " + std::string(tap) + "\n", "exec fifo");
}

void report_exec(int fifo) { write_all(fifo, std::string(1, kFifoExec), "exec fifo"); }

void report_error(int fifo, std::string_view message) noexcept
{
    std::string msg = kFifoError + std::string(message);
    ssize_t r = ::write(fifo, msg.data(), msg.size());
    (void)r;
}

ExecReport parse_exec_report(std::string_view data)
{
    ExecReport r;
    if (!data.empty() && data[0] == kFifoNetwork) {
        auto nl = data.find('\n');
        std::string_view words =
            data.substr(1, nl == std::string_view::npos ? std::string_view::npos : nl - 1);
        auto sp = words.find(' ');
        r.net_iface = std::string(words.substr(0, sp));
        if (sp != std::string_view::npos)
            r.net_tap = std::string(words.substr(sp + 1));
        data = nl == std::string_view::npos ? std::string_view() : data.substr(nl + 1);
    }
    if (data.size() == 1 && data[0] == kFifoExec) {
        r.execed = true;
        return r;
    }
    // "0E<message>": execve itself failed after the exec report.
    if (data.size() > 1 && data[0] == kFifoExec)
        data.remove_prefix(1);
    if (data.empty())
        r.error = "container init exited before the VMM started";
    else if (data[0] == kFifoError)
        r.error = std::string(data.substr(1));
    else
        r.error = "exec fifo: unexpected report " + describe_byte(data[0]) +
                  " from the container init (it exited before the VMM started)";
    return r;
}

}  // namespace urunc::container::proto
