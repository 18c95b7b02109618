// KVM detection with the device path as a parameter, so tests can point it elsewhere.
#pragma once

namespace urunc::vmm {

// `path` exists, opens O_RDWR|O_CLOEXEC and answers KVM_GET_API_VERSION with 12 (the only
// stable KVM API version). A /dev/null bind-mounted over /dev/kvm opens fine but fails
// the ioctl, so it is reported unusable. kvm_usable() (vmm.hpp) is this on "/dev/kvm".
bool kvm_usable_at(const char *path);

} // namespace urunc::vmm
