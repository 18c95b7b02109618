#include "vmm/kvm.hpp"
#include "vmm/vmm.hpp"

#include "../privileged.hpp"

#include <catch2/catch.hpp>

#include <string>

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
    CHECK_FALSE(kvm_usable_at("/dev/zero"));   // another char device that is not KVM
    CHECK_FALSE(kvm_usable_at("/nonexistent/kvm"));
    CHECK_FALSE(kvm_usable_at("/proc/self/status"));

    // No device, no KVM: whatever else the probe asks, it cannot say yes here.
    if (::access("/dev/kvm", F_OK) != 0)
        CHECK_FALSE(kvm_usable());
}

TEST_CASE("kvm: /dev/null bind-mounted over /dev/kvm is not usable", "[vmm][kvm][privileged]")
{
    REQUIRE_PRIVILEGED("a mount namespace");
    // The mounts live in a private mount namespace of a child, so they vanish with the
    // child whatever happens. When the host has no /dev/kvm the child puts a tmpfs over /dev
    // to have a node to bind over. Exit codes: 0 = unusable as expected, 1 = usable,
    // 2 = could not set up the namespace or the mounts.
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            ::_exit(2);
        if (::access("/dev/kvm", F_OK) != 0) {
            int keep = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (keep < 0 || ::mount("tmpfs", "/dev", "tmpfs", 0, "mode=755") != 0)
                ::_exit(2);
            int node = ::open("/dev/kvm", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
            if (node < 0)
                ::_exit(2);
            ::close(node);
            std::string src = "/proc/self/fd/" + std::to_string(keep);
            if (::mount(src.c_str(), "/dev/kvm", nullptr, MS_BIND, nullptr) != 0)
                ::_exit(2);
        } else if (::mount("/dev/null", "/dev/kvm", nullptr, MS_BIND, nullptr) != 0) {
            ::_exit(2);
        }
        ::_exit(kvm_usable() ? 1 : 0);
    }
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    INFO("exit 2: the namespace or the mounts could not be set up");
    CHECK(WEXITSTATUS(status) == 0);
}
