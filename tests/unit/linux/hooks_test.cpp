// Process plumbing: hooks, and the console socket hand-off.
#include "linux/console.hpp"
#include "linux/hooks.hpp"

#include "base/error.hpp"
#include "base/file.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../privileged.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <thread>

using namespace urunc;
using namespace urunc::oci;
using namespace urunc::linux;

namespace {

struct TempDir {
    std::string path;
    TempDir()
    {
        char tmpl[] = "/tmp/urunc-hooks-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { remove_tree(path); }
    std::string file(const char *name) const { return path + "/" + name; }
};

Hook sh(const std::string &script, int timeout = 0)
{
    return Hook{"/bin/sh", {"sh", "-c", script}, {}, false, timeout};
}

std::string error_of(const std::vector<Hook> &hooks, const char *stage = "prestart",
                     const std::string &state = "{}")
{
    try {
        run_hooks(hooks, stage, state);
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("hooks of a stage run in array order", "[hooks]")
{
    TempDir d;
    std::string f = d.file("order");
    run_hooks({sh("echo 1 >> " + f), sh("echo 2 >> " + f), sh("echo 3 >> " + f)}, "createRuntime",
              "{}");
    CHECK(read_file(f) == "1\n2\n3\n");
    run_hooks({}, "poststop", "{}");  // an empty stage is fine
}

TEST_CASE("a hook reads the state on stdin up to EOF", "[hooks]")
{
    TempDir d;
    std::string state =
        R"({"ociVersion":"1.0.2","id":"c1","status":"creating","pid":42,"bundle":"/b"})";
    run_hooks({sh("cat > " + d.file("stdin"))}, "prestart", state);
    CHECK(read_file(d.file("stdin")) == state);

    // A large state and a hook that never reads it: neither side blocks or gets SIGPIPE.
    std::string big(300000, 'x');
    run_hooks({Hook{"/bin/true", {}, {}, false, 0}}, "prestart", big);
    run_hooks({sh("wc -c > " + d.file("big"))}, "prestart", big);
    CHECK(read_file(d.file("big")) == "300000\n");
}

TEST_CASE("hook argv and environment", "[hooks]")
{
    TempDir d;
    std::string f = d.file("out");
    SECTION("args[0] is argv[0]; env replaces ours when given")
    {
        ::setenv("URUNC_HOOK_TEST", "ours", 1);
        run_hooks({Hook{"/bin/sh",
                        {"my-hook", "-c", "echo \"$0 $FOO [$URUNC_HOOK_TEST]\" > " + f},
                        {"FOO=bar"},
                        true,
                        0}},
                  "poststart", "{}");
        CHECK(read_file(f) == "my-hook bar []\n");
    }
    SECTION("no env key: the hook inherits ours (runc)")
    {
        ::setenv("URUNC_HOOK_TEST", "ours", 1);
        run_hooks({sh("echo \"$URUNC_HOOK_TEST\" > " + f)}, "poststart", "{}");
        CHECK(read_file(f) == "ours\n");
    }
    SECTION("an empty env key gives an empty environment")
    {
        ::setenv("URUNC_HOOK_TEST", "ours", 1);
        run_hooks({Hook{"/usr/bin/env", {}, {}, true, 0}, sh("env > " + f)}, "poststart", "{}");
        CHECK(read_file(f).find("URUNC_HOOK_TEST=ours") != std::string::npos);  // control
        run_hooks({Hook{"/bin/sh", {"sh", "-c", "env > " + f}, {}, true, 0}}, "poststart", "{}");
        CHECK(read_file(f).find("URUNC_HOOK_TEST") == std::string::npos);
    }
    ::unsetenv("URUNC_HOOK_TEST");
}

TEST_CASE("a hook gets no fd of ours and not our stdout", "[hooks]")
{
    // Deliberately inheritable, at a number no shell uses for itself.
    int leak = ::fcntl(STDIN_FILENO, F_DUPFD, 300);
    REQUIRE(leak >= 300);
    std::string msg = error_of({sh("readlink /proc/$$/fd/1; ls /proc/$$/fd; exit 1")});
    ::close(leak);
    INFO(msg);
    CHECK_THAT(msg, Catch::Contains("stdout: pipe:[") && Catch::Contains(" 0 1 2"));
    CHECK(msg.find(" " + std::to_string(leak)) == std::string::npos);
}

TEST_CASE("a failing hook stops the stage and reports status and output", "[hooks]")
{
    TempDir d;
    std::string never = d.file("never");
    std::string msg = error_of(
        {sh("true"), sh("echo out; echo line1 >&2; echo line2 >&2; exit 3"), sh("touch " + never)},
        "createRuntime");
    CHECK(msg == "error running createRuntime hook #1: /bin/sh: exit status 3, stdout: out, "
                 "stderr: line1 line2");
    CHECK_FALSE(path_exists(never));

    CHECK(error_of({sh("kill -TERM $$")}) ==
          "error running prestart hook #0: /bin/sh: signal: terminated, stdout: , stderr: ");
    CHECK_THAT(error_of({Hook{"/nonexistent/hook", {}, {}, false, 0}}),
               Catch::Contains("hook #0: /nonexistent/hook: exit status 127") &&
                   Catch::Contains("exec /nonexistent/hook: No such file or directory"));
    // Output is cut to about 1 KiB per stream.
    std::string big = error_of({sh("head -c 100000 /dev/zero | tr '\\0' a; exit 1")});
    CHECK(big.size() < 1200);
    CHECK_THAT(big, Catch::EndsWith("aaa..., stderr: "));
}

TEST_CASE("a hook past its timeout is killed and reported", "[hooks]")
{
    auto t0 = std::chrono::steady_clock::now();
    std::string msg = error_of({Hook{"/bin/sleep", {"sleep", "30"}, {}, false, 1}}, "poststart");
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK_THAT(msg, Catch::StartsWith("error running poststart hook #0: /bin/sleep: hook ran past "
                                      "specified timeout of 1.0s"));
    CHECK(took < std::chrono::seconds(10));
    // A hook that finishes in time is not affected by its timeout.
    run_hooks({Hook{"/bin/true", {}, {}, false, 5}}, "poststart", "{}");
}

TEST_CASE("with ns_pid a hook runs in that process's namespaces", "[hooks][privileged]")
{
    REQUIRE_PRIVILEGED("a pid namespace");
    TempDir d;
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    // A raw clone: fork semantics, the child is pid 1 of new uts, net and pid namespaces.
    long pid =
        ::syscall(SYS_clone, CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(p[1]);
        char c;
        (void)!::read(p[0], &c, 1);
        ::_exit(0);
    }
    ::close(p[0]);
    struct Reaper {
        pid_t pid;
        int fd;
        ~Reaper()
        {
            ::close(fd);
            ::waitpid(pid, nullptr, 0);
        }
    } reaper{static_cast<pid_t>(pid), p[1]};

    auto link = [](const std::string &path) {
        char buf[128] = {};
        REQUIRE(::readlink(path.c_str(), buf, sizeof buf - 1) > 0);
        return std::string(buf);
    };
    std::string f = d.file("ns");
    // $$ is 2: the hook is the second process of the child's pid namespace.
    run_hooks({sh("readlink /proc/self/ns/net > " + f + "; readlink /proc/self/ns/uts >> " + f +
                  "; echo $$ >> " + f)},
              "createContainer", "{}", static_cast<pid_t>(pid));
    std::string want = link("/proc/" + std::to_string(pid) + "/ns/net") + "\n" +
                       link("/proc/" + std::to_string(pid) + "/ns/uts") + "\n2\n";
    CHECK(read_file(f) == want);
    CHECK(link("/proc/self/ns/net") != link("/proc/" + std::to_string(pid) + "/ns/net"));

    try {
        run_hooks({sh("true")}, "prestart", "{}", 999999999);
        FAIL("no error for a missing ns_pid");
    } catch (const Error &e) {
        CHECK_THAT(e.what(), Catch::Contains("/proc/999999999/ns/"));
    }
}

TEST_CASE("the pty master goes over the console socket as one fd", "[console]")
{
    TempDir d;
    std::string path = d.file("pty.sock");
    int lfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(lfd >= 0);
    UniqueFd listener(lfd);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    REQUIRE(::bind(lfd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(lfd, 1) == 0);

    // The receiver, as go-runc's recvFd: one recvmsg of up to 4 KiB with room for more fds
    // than expected so that extras would show.
    std::string payload;
    std::vector<int> fds;
    size_t cmsgs = 0;
    std::thread receiver([&] {
        UniqueFd conn(::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn)
            return;
        char data[4096];
        alignas(struct cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
        struct iovec iov = {data, sizeof data};
        struct msghdr msg = {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
        if (n <= 0)
            return;
        payload.assign(data, static_cast<size_t>(n));
        for (auto *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            ++cmsgs;
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                fds.push_back(fd);
            }
        }
    });

    Pty pty = open_pty();
    CHECK_THAT(pty.slave_name, Catch::StartsWith("/dev/pts/"));
    set_winsize(pty.master.get(), 24, 80);
    try {
        send_console_master(path, pty.master.get(), pty.slave_name);
    } catch (...) {
        ::shutdown(lfd, SHUT_RDWR);
        receiver.join();
        throw;
    }
    receiver.join();
    CHECK(payload == pty.slave_name);
    CHECK(cmsgs == 1);
    REQUIRE(fds.size() == 1);
    UniqueFd got(fds[0]);
    pty.master.reset();  // only the received copy is left

    // What the slave writes comes out of the received fd: it is this pty's master.
    write_all(pty.slave.get(), "hello\n", "pty slave");
    char buf[64] = {};
    ssize_t n = ::read(got.get(), buf, sizeof buf);
    REQUIRE(n > 0);
    CHECK(std::string(buf, static_cast<size_t>(n)).find("hello") != std::string::npos);

    CHECK_THROWS_WITH(send_console_master(path, 0, ""), Catch::Contains(path));
    CHECK_THROWS_WITH(send_console_master(d.file("none.sock"), 0, "x"),
                      Catch::Contains("none.sock`: No such file or directory"));
}
