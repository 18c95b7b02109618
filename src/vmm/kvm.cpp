#include "vmm/kvm.hpp"
#include "vmm/vmm.hpp"

#include "base/fd.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

namespace urunc::vmm {

bool kvm_usable_at(const char *path)
{
    UniqueFd fd(::open(path, O_RDWR | O_CLOEXEC));
    if (!fd)
        return false;
    return ::ioctl(fd.get(), KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
}

bool kvm_usable() { return kvm_usable_at("/dev/kvm"); }

} // namespace urunc::vmm
