// The init <-> create <-> start protocol: both ends over a real socketpair (the sync stages)
// and a pipe standing in for the exec fifo.
#include "container/init_protocol.hpp"

#include "base/error.hpp"
#include "base/file.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

using namespace urunc;
using namespace urunc::container;

namespace {

struct SyncPair {
    UniqueFd create_end, init_end;
    SyncPair()
    {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
        create_end.reset(sv[0]);
        init_end.reset(sv[1]);
    }
};

std::string error_of(int fd, proto::Stage want)
{
    try {
        proto::expect_stage(fd, want, "peer closed");
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

// What create's send of a go throws (the init's report, when it failed).
std::string go_error_of(int fd)
{
    try {
        proto::send_stage(fd, proto::Stage::go, "sync with init");
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

// Create's go reaches the init, which reports `message` and exits without reading it.
void init_fails_with_go_unread(SyncPair &p, const char *message)
{
    proto::send_stage(p.create_end.get(), proto::Stage::go, "sync with init");
    proto::send_error(p.init_end.get(), message);
    p.init_end.reset();
}

// What a reader of the fifo sees once the writer is done.
std::string drain(int fd)
{
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<size_t>(n));
    return out;
}

struct Fifo {
    UniqueFd r, w;
    Fifo()
    {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        r.reset(p[0]);
        w.reset(p[1]);
    }
    std::string close_and_read()
    {
        w.reset();
        return drain(r.get());
    }
};

}  // namespace

TEST_CASE("init protocol: each sync stage round-trips in its direction")
{
    SyncPair p;
    proto::send_stage(p.create_end.get(), proto::Stage::go, "test");
    REQUIRE_NOTHROW(proto::expect_stage(p.init_end.get(), proto::Stage::go, "closed"));
    proto::send_stage(p.init_end.get(), proto::Stage::ns_ready, "test");
    REQUIRE_NOTHROW(proto::expect_stage(p.create_end.get(), proto::Stage::ns_ready, "closed"));
    proto::send_stage(p.create_end.get(), proto::Stage::go, "test");
    REQUIRE_NOTHROW(proto::expect_stage(p.init_end.get(), proto::Stage::go, "closed"));
    proto::send_stage(p.init_end.get(), proto::Stage::ready, "test");
    REQUIRE_NOTHROW(proto::expect_stage(p.create_end.get(), proto::Stage::ready, "closed"));
}

TEST_CASE("init protocol: an error report carries its message")
{
    SyncPair p;
    proto::send_error(p.init_end.get(), "mount `/x`: No such file or directory (errno 2)");
    CHECK(error_of(p.create_end.get(), proto::Stage::ns_ready) ==
          "mount `/x`: No such file or directory (errno 2)");
}

TEST_CASE("init protocol: a peer that closes early gives the caller's message")
{
    SyncPair p;
    p.init_end.reset();
    CHECK(error_of(p.create_end.get(), proto::Stage::ready) == "peer closed");
}

TEST_CASE("init protocol: an unexpected stage or unknown byte is named")
{
    SyncPair p;
    proto::send_stage(p.init_end.get(), proto::Stage::ready, "test");
    CHECK(error_of(p.create_end.get(), proto::Stage::ns_ready) ==
          "sync: expected stage ns_ready, got byte 'r'");
    char junk = '\x01';
    REQUIRE(::send(p.init_end.get(), &junk, 1, 0) == 1);
    CHECK(error_of(p.create_end.get(), proto::Stage::ns_ready) ==
          "sync: expected stage ns_ready, got byte 0x01");
    REQUIRE(::send(p.init_end.get(), "go", 2, 0) == 2);  // the right byte, but not alone
    CHECK(error_of(p.create_end.get(), proto::Stage::go) ==
          "sync: expected stage go, got a 2-byte message starting with 'g'");
}

TEST_CASE("init protocol: a failed send names its side and stage")
{
    SyncPair p;
    p.create_end.reset();
    try {
        proto::send_stage(p.init_end.get(), proto::Stage::ready, "init: sync");
        FAIL("send to a closed peer succeeded");
    } catch (const Error &e) {
        CHECK(std::string(e.what()).find("init: sync: send ready") == 0);
        CHECK(e.code() == EPIPE);
    }
    proto::send_error(p.init_end.get(), "ignored");  // best effort: does not throw
}

TEST_CASE("exec fifo: the exec report alone means the VMM was exec'd")
{
    Fifo f;
    proto::report_exec(f.w.get());
    auto r = proto::parse_exec_report(f.close_and_read());
    CHECK(r.execed);
    CHECK_FALSE(r.net_iface);
    CHECK(r.error.empty());
}

TEST_CASE("exec fifo: the network report comes before the exec report")
{
    Fifo f;
    proto::report_network(f.w.get(), "eth0", "tap123456_urunc");
    proto::report_exec(f.w.get());
    auto r = proto::parse_exec_report(f.close_and_read());
    CHECK(r.execed);
    REQUIRE(r.net_iface);
    CHECK(*r.net_iface == "eth0");
    CHECK(r.net_tap == "tap123456_urunc");
}

TEST_CASE("exec fifo: an error report carries its message, also after the exec report")
{
    SECTION("before exec")
    {
        Fifo f;
        proto::report_network(f.w.get(), "eth1", "tap000001_urunc");
        proto::report_error(f.w.get(), "setuid 1000: Operation not permitted");
        auto r = proto::parse_exec_report(f.close_and_read());
        CHECK_FALSE(r.execed);
        CHECK(r.error == "setuid 1000: Operation not permitted");
        REQUIRE(r.net_iface);  // start still records it, for teardown at delete
        CHECK(*r.net_iface == "eth1");
        CHECK(r.net_tap == "tap000001_urunc");
    }
    SECTION("execve failed")
    {
        Fifo f;
        proto::report_exec(f.w.get());
        proto::report_error(f.w.get(), "exec `/usr/bin/qemu`: No such file or directory");
        auto r = proto::parse_exec_report(f.close_and_read());
        CHECK_FALSE(r.execed);
        CHECK(r.error == "exec `/usr/bin/qemu`: No such file or directory");
    }
}

TEST_CASE("exec fifo: a writer that closes early or sends an unknown byte")
{
    SECTION("nothing written")
    {
        auto r = proto::parse_exec_report("");
        CHECK_FALSE(r.execed);
        CHECK(r.error == "container init exited before the VMM started");
    }
    SECTION("only the network report")
    {
        auto r = proto::parse_exec_report("Neth0\n");
        CHECK_FALSE(r.execed);
        CHECK(r.error == "container init exited before the VMM started");
    }
    SECTION("unknown byte")
    {
        auto r = proto::parse_exec_report("X");
        CHECK_FALSE(r.execed);
        CHECK(r.error == "exec fifo: unexpected report 'X' from the container init (it exited "
                         "before the VMM started)");
    }
}

TEST_CASE(
    "init protocol: a go sent to an init that already failed and exited reports the init's error",
    "[init_protocol]")
{
    // Early mode: create's second go can leave after the init has reported an error and
    // closed its end. The send fails (EPIPE), but the report is still queued for create.
    SyncPair p;
    proto::send_error(p.init_end.get(), "monitor root: linux.rootfsPropagation `shared`");
    p.init_end.reset();
    CHECK(go_error_of(p.create_end.get()) == "monitor root: linux.rootfsPropagation `shared`");
}

TEST_CASE("init protocol: an init that fails with create's go unread still reports its error",
          "[init_protocol]")
{
    // Early mode: create's second go reaches the init after the init has reported an error
    // but before it exits. The init closes its end with that go unread, so the kernel hands
    // create ECONNRESET ahead of the report queued for it: the report must still win.
    SyncPair p;
    init_fails_with_go_unread(p, "linux.rootfsPropagation `shared` is not supported");
    CHECK(error_of(p.create_end.get(), proto::Stage::ns_ready) ==
          "linux.rootfsPropagation `shared` is not supported");
}

TEST_CASE("init protocol: a go sent after the init exited with an earlier go unread reports "
          "the init's error",
          "[init_protocol]")
{
    // Both early goes went out; the init read neither, reported and exited. The second send
    // fails with ECONNRESET (the first go was left unread), and the report is still queued.
    SyncPair p;
    init_fails_with_go_unread(p, "join the network namespace: Invalid argument");
    CHECK(go_error_of(p.create_end.get()) == "join the network namespace: Invalid argument");
}

TEST_CASE("init protocol: an init that exits with create's go unread and no report",
          "[init_protocol]")
{
    // The same reset without a report: the caller's message, not a bare ECONNRESET.
    SyncPair p;
    proto::send_stage(p.create_end.get(), proto::Stage::go, "sync with init");
    p.init_end.reset();
    CHECK(error_of(p.create_end.get(), proto::Stage::ns_ready) == "peer closed");
}

TEST_CASE("init protocol: a go can carry one fd, which arrives open and close-on-exec",
          "[init_protocol]")
{
    SyncPair p;
    Fifo f;  // any fd will do: the pipe's write end, recognised by its inode
    struct stat sent {};
    REQUIRE(::fstat(f.w.get(), &sent) == 0);
    proto::send_stage_with_fd(p.create_end.get(), proto::Stage::go, f.w.get(), "sync with init");
    UniqueFd got = proto::expect_stage_with_fd(p.init_end.get(), proto::Stage::go, "peer closed");
    REQUIRE(got);
    CHECK(got.get() != f.w.get());
    struct stat st {};
    REQUIRE(::fstat(got.get(), &st) == 0);
    CHECK(st.st_ino == sent.st_ino);
    CHECK((::fcntl(got.get(), F_GETFD) & FD_CLOEXEC) != 0);

    // A go without one: nothing comes, and the stage is still a go.
    proto::send_stage(p.create_end.get(), proto::Stage::go, "sync with init");
    CHECK(!proto::expect_stage_with_fd(p.init_end.get(), proto::Stage::go, "peer closed"));
}

TEST_CASE("init protocol: an fd on a stage that expects none, or on an error, is not left open",
          "[init_protocol]")
{
    SyncPair p;
    Fifo f;
    // The reader's only reference to the pipe's write end is the one in flight: once it is
    // closed, the read end sees EOF.
    proto::send_stage_with_fd(p.create_end.get(), proto::Stage::go, f.w.get(), "sync with init");
    f.w.reset();
    proto::expect_stage(p.init_end.get(), proto::Stage::go, "peer closed");
    char c;
    CHECK(::read(f.r.get(), &c, 1) == 0);

    Fifo g;
    proto::send_stage_with_fd(p.create_end.get(), proto::Stage::ready, g.w.get(), "sync");
    g.w.reset();
    CHECK(error_of(p.init_end.get(), proto::Stage::go) == "sync: expected stage go, got byte 'r'");
    CHECK(::read(g.r.get(), &c, 1) == 0);
}
