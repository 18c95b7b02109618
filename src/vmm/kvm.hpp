// Whether KVM can run an ordinary guest here, decided over a replaceable system-call layer
// so that every answer a kernel can give is testable without that kernel.
//
// Why more than "the device answers the API": a paravirtual KVM (PVM, on nested cloud VMs
// without vmx/svm) serves /dev/kvm, answers KVM_GET_API_VERSION, creates VMs and vCPUs, and
// then refuses host-initiated writes of MSRs it lists itself. QEMU writes IA32_ARCH_CAPABILITIES
// (0x10a) on every vCPU when KVM_GET_MSR_INDEX_LIST has it and aborts when the write is short
// ("failed to set MSR 0x10a", an assertion after KVM_SET_MSRS). So the probe makes the
// same calls QEMU makes before the guest's first instruction: API version, a VM, a vCPU,
// the MSR index list and supported CPUID, and that one MSR write on the vCPU.
#pragma once

#include <string>

namespace urunc::vmm {

// The calls the probe makes; the real one is the kernel's, tests play other kernels.
class KvmSys {
public:
    virtual ~KvmSys() = default;
    virtual int open(const char *path) = 0;                           // O_RDWR; -1 + errno
    virtual int ioctl(int fd, unsigned long request, void *arg) = 0;  // as ioctl(2)
    virtual void close(int fd) = 0;
};

KvmSys &kernel_kvm_sys();

struct KvmProbe {
    bool usable = false;
    std::string why;  // not usable: one line, "<path>: <the step that failed and how>"
};

// Every fd the probe opens is closed before it returns, whatever the outcome.
KvmProbe probe_kvm(KvmSys &sys, const char *path);

// The host's /dev/kvm (test builds: see URUNC_TEST_ASSUME_KVM in kvm.cpp).
KvmProbe probe_host_kvm();

}  // namespace urunc::vmm
