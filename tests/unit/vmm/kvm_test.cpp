#include "vmm/kvm.hpp"
#include "vmm/vmm.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace urunc::vmm;

TEST_CASE("kvm: usable only when the device answers the KVM API", "[vmm][kvm]")
{
    CHECK_FALSE(kvm_usable_at("/dev/null"));   // opens, but KVM_GET_API_VERSION fails
    CHECK_FALSE(kvm_usable_at("/nonexistent/kvm"));
    CHECK_FALSE(kvm_usable_at("/proc/self/status"));

    // kvm_usable() agrees with a direct probe of this host's /dev/kvm
    bool direct = false;
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        direct = ::ioctl(fd, KVM_GET_API_VERSION, 0) == 12;
        ::close(fd);
    }
    CHECK(kvm_usable() == direct);
}

TEST_CASE("kvm: /dev/null bind-mounted over /dev/kvm is not usable", "[vmm][kvm]")
{
    if (::geteuid() != 0 || ::access("/dev/kvm", F_OK) != 0) {
        WARN("needs root and an existing /dev/kvm; skipped");
        return;
    }
    // The bind mount lives in a private mount namespace of a child, so it vanishes with
    // the child whatever happens. Exit codes: 0 = unusable as expected, 1 = usable,
    // 2 = could not set up the namespace or the mount.
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("/dev/null", "/dev/kvm", nullptr, MS_BIND, nullptr) != 0)
            ::_exit(2);
        ::_exit(kvm_usable() ? 1 : 0);
    }
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 2) {
        WARN("cannot create a mount namespace here; skipped");
        return;
    }
    CHECK(WEXITSTATUS(status) == 0);
}
