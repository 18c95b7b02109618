// lock_fd / try_lock_fd and pidfd_open: the one copy of each, on real files and processes.
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/lock.hpp"
#include "base/pidfd.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

using namespace urunc;

TEST_CASE("try_lock_fd: false while another open file holds the lock", "[base][lock]")
{
    char tmpl[] = "/tmp/urunc-lock-XXXXXX";
    UniqueFd a(::mkstemp(tmpl));
    REQUIRE(a);
    UniqueFd b(::open(tmpl, O_RDWR | O_CLOEXEC));
    REQUIRE(b);
    ::unlink(tmpl);
    lock_fd(a.get(), LockMode::exclusive, tmpl);
    CHECK_FALSE(try_lock_fd(b.get(), LockMode::shared, tmpl));
    a.reset();
    CHECK(try_lock_fd(b.get(), LockMode::exclusive, tmpl));
}

TEST_CASE("lock_fd: a bad fd is an error naming the file", "[base][lock]")
{
    try {
        lock_fd(-1, LockMode::exclusive, "/run/x.lock");
        FAIL("no error");
    } catch (const Error &e) {
        CHECK(std::string(e.what()).find("lock `/run/x.lock`") != std::string::npos);
    }
}

TEST_CASE("pidfd_open: a live child gives a handle, signals reach it; no process gives ESRCH",
          "[base][pidfd]")
{
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::pause();
        ::_exit(0);
    }
    UniqueFd fd = pidfd_open(pid);
    REQUIRE(fd);
    CHECK(pidfd_send_signal(fd.get(), SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    errno = 0;
    CHECK_FALSE(pidfd_open(pid));
    CHECK(errno == ESRCH);
}
