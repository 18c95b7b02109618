#include "vmm/kvm.hpp"
#include "vmm/vmm.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

namespace urunc::vmm {
namespace {

class KernelKvmSys final : public KvmSys {
public:
    int open(const char *path) override { return ::open(path, O_RDWR | O_CLOEXEC); }
    int ioctl(int fd, unsigned long request, void *arg) override
    {
        int rc;
        do
            rc = ::ioctl(fd, request, arg);
        while (rc < 0 && errno == EINTR);
        return rc;
    }
    void close(int fd) override { ::close(fd); }
};

// An fd of the layer, closed through it.
struct SysFd {
    KvmSys &sys;
    int fd;
    SysFd(KvmSys &s, int f) : sys(s), fd(f) {}
    SysFd(const SysFd &) = delete;
    SysFd &operator=(const SysFd &) = delete;
    ~SysFd()
    {
        if (fd >= 0)
            sys.close(fd);
    }
};

std::string errno_text(int err)
{
    return std::strerror(err) + (" (errno " + std::to_string(err) + ")");
}

#if defined(__x86_64__) || defined(__i386__)
constexpr uint32_t kMsrArchCapabilities = 0x10a;

// KVM_GET_MSR_INDEX_LIST: asked with room for none, the kernel says how many (E2BIG).
// nullopt + errno when the list cannot be read at all.
std::optional<std::vector<uint32_t>> msr_index_list(KvmSys &sys, int kvm_fd)
{
    std::vector<uint32_t> buf(1, 0);  // kvm_msr_list: nmsrs, then the indices
    for (int round = 0; round < 4; ++round) {
        if (sys.ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, buf.data()) == 0) {
            uint32_t n = std::min<uint32_t>(buf[0], static_cast<uint32_t>(buf.size() - 1));
            return std::vector<uint32_t>(buf.begin() + 1, buf.begin() + 1 + n);
        }
        if (errno != E2BIG)
            return std::nullopt;
        uint32_t want = buf[0];
        if (want < buf.size() - 1 || want > 65536) {  // a count that does not grow: give up
            errno = EPROTO;
            return std::nullopt;
        }
        buf.assign(want + 1, 0);
        buf[0] = want;
    }
    errno = EPROTO;
    return std::nullopt;
}

// Leaf 7 subleaf 0, EDX bit 29 of KVM_GET_SUPPORTED_CPUID: the guest CPU may have
// IA32_ARCH_CAPABILITIES, so QEMU's `-cpu host` gives it and writes the MSR.
// nullopt + errno when the table cannot be read.
std::optional<bool> cpuid_has_arch_capabilities(KvmSys &sys, int kvm_fd)
{
    for (uint32_t nent = 64; nent <= 4096; nent *= 2) {
        std::vector<unsigned char> raw(sizeof(kvm_cpuid2) + nent * sizeof(kvm_cpuid_entry2), 0);
        auto *c = reinterpret_cast<kvm_cpuid2 *>(raw.data());
        c->nent = nent;
        if (sys.ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
            if (errno == E2BIG)
                continue;
            return std::nullopt;
        }
        for (uint32_t i = 0; i < std::min(c->nent, nent); ++i) {
            const kvm_cpuid_entry2 &e = c->entries[i];
            if (e.function == 7 && e.index == 0)
                return (e.edx >> 29 & 1) != 0;
        }
        return false;
    }
    errno = E2BIG;
    return std::nullopt;
}

// kvm_msrs with room for one entry (its entries[] is a flexible array).
struct OneMsr {
    alignas(kvm_msrs) unsigned char raw[sizeof(kvm_msrs) + sizeof(kvm_msr_entry)] = {};
    OneMsr(uint32_t index, uint64_t data = 0)
    {
        msrs()->nmsrs = 1;
        entry().index = index;
        entry().data = data;
    }
    kvm_msrs *msrs() { return reinterpret_cast<kvm_msrs *>(raw); }
    kvm_msr_entry &entry() { return msrs()->entries[0]; }
};

// The value KVM offers for a feature MSR (KVM_GET_MSRS on the system fd); 0 when the
// kernel has no feature MSRs. 0 is always a valid IA32_ARCH_CAPABILITIES: it claims nothing.
uint64_t feature_msr_value(KvmSys &sys, int kvm_fd, uint32_t index)
{
    OneMsr m(index);
    return sys.ioctl(kvm_fd, KVM_GET_MSRS, m.msrs()) == 1 ? m.entry().data : 0;
}
#endif

}  // namespace

KvmSys &kernel_kvm_sys()
{
    static KernelKvmSys sys;
    return sys;
}

KvmProbe probe_kvm(KvmSys &sys, const char *path)
{
    auto no = [&](const std::string &why) {
        return KvmProbe{false, std::string(path) + ": " + why};
    };
    SysFd kvm(sys, sys.open(path));
    if (kvm.fd < 0)
        return no("cannot open: " + errno_text(errno));
    int version = sys.ioctl(kvm.fd, KVM_GET_API_VERSION, nullptr);
    if (version < 0)
        return no("KVM_GET_API_VERSION failed, not a KVM device: " + errno_text(errno));
    if (version != KVM_API_VERSION)
        return no("KVM API version " + std::to_string(version) + ", not " +
                  std::to_string(KVM_API_VERSION));
    SysFd vm(sys, sys.ioctl(kvm.fd, KVM_CREATE_VM, nullptr));
    if (vm.fd < 0)
        return no("KVM_CREATE_VM failed: " + errno_text(errno));
    SysFd vcpu(sys, sys.ioctl(vm.fd, KVM_CREATE_VCPU, nullptr));
    if (vcpu.fd < 0)
        return no("KVM_CREATE_VCPU failed: " + errno_text(errno));
#if defined(__x86_64__) || defined(__i386__)
    auto msrs = msr_index_list(sys, kvm.fd);
    if (!msrs)
        return no("KVM_GET_MSR_INDEX_LIST failed: " + errno_text(errno));
    // QEMU builds the guest CPU from the supported CPUID (it cannot start without it) and
    // writes the MSR when the index list has it, whatever CPUID says (newer QEMU then hides
    // the CPUID bit when the list lacks the MSR): so the list decides the write.
    auto in_cpuid = cpuid_has_arch_capabilities(sys, kvm.fd);
    if (!in_cpuid)
        return no("KVM_GET_SUPPORTED_CPUID failed: " + errno_text(errno));
    bool listed = std::find(msrs->begin(), msrs->end(), kMsrArchCapabilities) != msrs->end();
    if (listed) {
        OneMsr m(kMsrArchCapabilities, feature_msr_value(sys, kvm.fd, kMsrArchCapabilities));
        int set = sys.ioctl(vcpu.fd, KVM_SET_MSRS, m.msrs());
        if (set != 1)
            return no(
                "KVM_SET_MSRS of MSR 0x10a (IA32_ARCH_CAPABILITIES) on a vCPU set " +
                (set < 0 ? "nothing (" + errno_text(errno) + ")" : std::to_string(set) + " of 1") +
                ": a paravirtual KVM without vmx/svm? QEMU would abort there");
    }
#endif
    return {true, ""};
}

KvmProbe probe_host_kvm()
{
#ifdef URUNC_TEST_SEAMS
    // Test builds only (meson -Dtest_seams=true): URUNC_TEST_ASSUME_KVM=1 takes any character
    // device at /dev/kvm (a test's private mount namespace provides one) for usable KVM, so
    // the launch of KVM-only monitors (root, user, seccomp, devices) runs with the fake VMM
    // on hosts without KVM instead of being skipped.
    if (const char *v = std::getenv("URUNC_TEST_ASSUME_KVM"); v && std::string_view(v) == "1") {
        struct stat st;
        if (::stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode))
            return {true, ""};
        return {false, "/dev/kvm: no character device there (URUNC_TEST_ASSUME_KVM=1)"};
    }
#endif
    return probe_kvm(kernel_kvm_sys(), "/dev/kvm");
}

}  // namespace urunc::vmm
