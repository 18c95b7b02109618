#include "vmm/kvm.hpp"
#include "vmm/vmm.hpp"

#include "../privileged.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace urunc::vmm;

namespace {

// A kernel played by the test: each knob is one way a /dev/kvm can answer. Fds are small
// numbers of its own; every one opened must be closed by the time the probe returns.
struct FakeKvm final : KvmSys {
    int open_errno = 0;    // != 0: open fails so
    int api_version = 12;  // < 0: the ioctl fails with ENOTTY
    int create_vm_errno = 0, create_vcpu_errno = 0;
    std::vector<uint32_t> msr_list;  // what KVM_GET_MSR_INDEX_LIST reports
    int msr_list_errno = 0;
    bool cpuid_arch_caps = false;  // leaf 7.0 EDX bit 29 in KVM_GET_SUPPORTED_CPUID
    int cpuid_errno = 0;
    int cpuid_entries = 80;        // table size: more than a first guess of 64
    int set_msrs_result = 1;       // what KVM_SET_MSRS returns (entries written)
    bool has_feature_msrs = true;  // KVM_GET_MSRS on the system fd answers
    uint64_t feature_value = 0x69;

    // What the probe did.
    std::vector<std::pair<uint32_t, uint64_t>> msrs_set;  // (index, value) per SET_MSRS entry
    int set_msrs_fd = -1;
    std::set<int> open_fds;
    int next_fd = 100, kvm_fd = -1, vm_fd = -1, vcpu_fd = -1;

    int fail(int err)
    {
        errno = err;
        return -1;
    }
    int new_fd()
    {
        open_fds.insert(next_fd);
        return next_fd++;
    }

    int open(const char *) override
    {
        if (open_errno)
            return fail(open_errno);
        return kvm_fd = new_fd();
    }
    void close(int fd) override
    {
        INFO("closed an fd the fake never gave out, or twice: " << fd);
        CHECK(open_fds.erase(fd) == 1);
    }
    int ioctl(int fd, unsigned long req, void *arg) override
    {
        REQUIRE(open_fds.count(fd) == 1);
        switch (req) {
        case KVM_GET_API_VERSION:
            REQUIRE(fd == kvm_fd);
            return api_version < 0 ? fail(ENOTTY) : api_version;
        case KVM_CREATE_VM:
            REQUIRE(fd == kvm_fd);
            return create_vm_errno ? fail(create_vm_errno) : (vm_fd = new_fd());
        case KVM_CREATE_VCPU:
            REQUIRE(fd == vm_fd);
            return create_vcpu_errno ? fail(create_vcpu_errno) : (vcpu_fd = new_fd());
        case KVM_GET_MSR_INDEX_LIST: {
            REQUIRE(fd == kvm_fd);
            if (msr_list_errno)
                return fail(msr_list_errno);
            auto *l = static_cast<kvm_msr_list *>(arg);
            uint32_t room = l->nmsrs;
            l->nmsrs = static_cast<uint32_t>(msr_list.size());
            if (room < msr_list.size())
                return fail(E2BIG);
            // The indices follow nmsrs; address them from the buffer itself rather than
            // through the zero-length array member.
            std::copy(msr_list.begin(), msr_list.end(), static_cast<uint32_t *>(arg) + 1);
            return 0;
        }
        case KVM_GET_SUPPORTED_CPUID: {
            REQUIRE(fd == kvm_fd);
            auto *c = static_cast<kvm_cpuid2 *>(arg);
            if (cpuid_errno)
                return fail(cpuid_errno);
            if (c->nent < static_cast<uint32_t>(cpuid_entries))
                return fail(E2BIG);
            c->nent = static_cast<uint32_t>(cpuid_entries);
            for (int i = 0; i < cpuid_entries; ++i)
                c->entries[i] = kvm_cpuid_entry2{};
            // leaf 7 somewhere past the first guess of the table size
            kvm_cpuid_entry2 &e = c->entries[cpuid_entries - 1];
            e.function = 7;
            e.index = 0;
            e.edx = cpuid_arch_caps ? (1u << 29) : 0;
            return 0;
        }
        case KVM_GET_MSRS: {
            REQUIRE(fd == kvm_fd);  // feature MSRs are read on the system fd
            auto *m = static_cast<kvm_msrs *>(arg);
            if (!has_feature_msrs || m->nmsrs != 1 || m->entries[0].index != 0x10a)
                return 0;
            m->entries[0].data = feature_value;
            return 1;
        }
        case KVM_SET_MSRS: {
            set_msrs_fd = fd;
            auto *m = static_cast<kvm_msrs *>(arg);
            for (uint32_t i = 0; i < m->nmsrs; ++i)
                msrs_set.emplace_back(m->entries[i].index, m->entries[i].data);
            return set_msrs_result < 0 ? fail(EINVAL) : set_msrs_result;
        }
        }
        FAIL("unexpected ioctl " << req);
        return fail(ENOTTY);
    }
};

// A host where KVM works: the MSR is listed and in CPUID, and the write goes through.
FakeKvm good_kvm()
{
    FakeKvm k;
    k.msr_list = {0x174, 0x175, 0x10a, 0xc0000080};
    k.cpuid_arch_caps = true;
    return k;
}

}  // namespace

TEST_CASE("kvm probe: a KVM that runs guests, with the MSR write QEMU makes", "[vmm][kvm]")
{
    FakeKvm k = good_kvm();
    KvmProbe p = probe_kvm(k, "/dev/kvm");
    CHECK(p.usable);
    CHECK(p.why.empty());
    // The one write QEMU would make, on the vCPU, with the value KVM offers.
    REQUIRE(k.msrs_set.size() == 1);
    CHECK(k.msrs_set[0].first == 0x10a);
    CHECK(k.msrs_set[0].second == 0x69);
    CHECK(k.set_msrs_fd == k.vcpu_fd);
    CHECK(k.open_fds.empty());
}

TEST_CASE("kvm probe: PVM-like: everything answers, then the MSR write is short", "[vmm][kvm]")
{
    SECTION("0 of 1 written")
    {
        FakeKvm k = good_kvm();
        k.set_msrs_result = 0;
        KvmProbe p = probe_kvm(k, "/dev/kvm");
        CHECK_FALSE(p.usable);
        CHECK(p.why ==
              "/dev/kvm: KVM_SET_MSRS of MSR 0x10a (IA32_ARCH_CAPABILITIES) on a vCPU set 0 of 1: "
              "a paravirtual KVM without vmx/svm? QEMU would abort there");
        CHECK(k.open_fds.empty());
    }
    SECTION("the ioctl fails")
    {
        FakeKvm k = good_kvm();
        k.set_msrs_result = -1;
        KvmProbe p = probe_kvm(k, "/dev/kvm");
        CHECK_FALSE(p.usable);
        CHECK_THAT(p.why, Catch::Contains("set nothing (Invalid argument (errno 22))"));
        CHECK(k.open_fds.empty());
    }
    SECTION("listed only in the MSR index list: still written, still refused")
    {
        FakeKvm k = good_kvm();
        k.cpuid_arch_caps = false;
        k.set_msrs_result = 0;
        CHECK_FALSE(probe_kvm(k, "/dev/kvm").usable);
        CHECK(k.msrs_set.size() == 1);
    }
    SECTION("no feature MSRs in the kernel: the write is of 0")
    {
        FakeKvm k = good_kvm();
        k.has_feature_msrs = false;
        CHECK(probe_kvm(k, "/dev/kvm").usable);
        REQUIRE(k.msrs_set.size() == 1);
        CHECK(k.msrs_set[0].second == 0);
    }
}

TEST_CASE("kvm probe: an MSR the index list lacks is not written (QEMU would not)", "[vmm][kvm]")
{
    FakeKvm k = good_kvm();
    k.msr_list = {0x174, 0x175};
    k.set_msrs_result = 0;  // would refuse, if the probe asked
    SECTION("CPUID has the bit") {}
    SECTION("CPUID lacks it too") { k.cpuid_arch_caps = false; }
    KvmProbe p = probe_kvm(k, "/dev/kvm");
    CHECK(p.usable);
    CHECK(k.msrs_set.empty());
    CHECK(k.open_fds.empty());
}

TEST_CASE("kvm probe: each step that fails says which, and leaks no fd", "[vmm][kvm]")
{
    FakeKvm k = good_kvm();
    std::string want;
    SECTION("no device")
    {
        k.open_errno = ENOENT;
        want = "/dev/kvm: cannot open: No such file or directory (errno 2)";
    }
    SECTION("not a KVM device")
    {
        k.api_version = -1;
        want =
            "/dev/kvm: KVM_GET_API_VERSION failed, not a KVM device: Inappropriate ioctl for device (errno 25)";
    }
    SECTION("API version mismatch")
    {
        k.api_version = 11;
        want = "/dev/kvm: KVM API version 11, not 12";
    }
    SECTION("KVM_CREATE_VM fails")
    {
        k.create_vm_errno = ENOMEM;
        want = "/dev/kvm: KVM_CREATE_VM failed: Cannot allocate memory (errno 12)";
    }
    SECTION("KVM_CREATE_VCPU fails")
    {
        k.create_vcpu_errno = EINVAL;
        want = "/dev/kvm: KVM_CREATE_VCPU failed: Invalid argument (errno 22)";
    }
    SECTION("the MSR index list cannot be read")
    {
        k.msr_list_errno = EFAULT;
        want = "/dev/kvm: KVM_GET_MSR_INDEX_LIST failed: Bad address (errno 14)";
    }
    SECTION("the supported CPUID cannot be read")
    {
        k.cpuid_errno = ENOMEM;
        want = "/dev/kvm: KVM_GET_SUPPORTED_CPUID failed: Cannot allocate memory (errno 12)";
    }
    KvmProbe p = probe_kvm(k, "/dev/kvm");
    CHECK_FALSE(p.usable);
    CHECK(p.why == want);
    CHECK(k.msrs_set.empty());
    CHECK(k.open_fds.empty());
}

TEST_CASE("kvm: usable only when the device answers the KVM API", "[vmm][kvm]")
{
    auto usable_at = [](const char *path) { return probe_kvm(kernel_kvm_sys(), path).usable; };
    CHECK_FALSE(usable_at("/dev/null"));  // opens, but KVM_GET_API_VERSION fails
    CHECK_FALSE(usable_at("/dev/zero"));  // another char device that is not KVM
    CHECK_FALSE(usable_at("/nonexistent/kvm"));
    CHECK_FALSE(usable_at("/proc/self/status"));

    // No device, no KVM: whatever else the probe asks, it cannot say yes here.
    if (::access("/dev/kvm", F_OK) != 0)
        CHECK_FALSE(probe_host_kvm().usable);
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
        ::_exit(probe_host_kvm().usable ? 1 : 0);
    }
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    INFO("exit 2: the namespace or the mounts could not be set up");
    CHECK(WEXITSTATUS(status) == 0);
}
