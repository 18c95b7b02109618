#include "vmm/kvm.hpp"
#include "vmm/vmm.hpp"

#include "base/fd.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string_view>

namespace urunc::vmm {

bool kvm_usable_at(const char *path)
{
    UniqueFd fd(::open(path, O_RDWR | O_CLOEXEC));
    if (!fd)
        return false;
    return ::ioctl(fd.get(), KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
}

bool kvm_usable()
{
#ifdef URUNC_TEST_SEAMS
    // Test builds only (meson -Dtest_seams=true): URUNC_TEST_ASSUME_KVM=1 takes any character
    // device at /dev/kvm (a test's private mount namespace provides one) for usable KVM, so
    // the launch of KVM-only monitors (root, user, seccomp, devices) runs with the fake VMM
    // on hosts without KVM instead of being skipped.
    if (const char *v = std::getenv("URUNC_TEST_ASSUME_KVM"); v && std::string_view(v) == "1") {
        struct stat st;
        return ::stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode);
    }
#endif
    return kvm_usable_at("/dev/kvm");
}

} // namespace urunc::vmm
