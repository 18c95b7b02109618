// The syscall allow-list urunc installs before exec'ing solo5-hvt:
// default action SIGSYS (SCMP_ACT_TRAP), no_new_privs set, synchronised to all threads.
// execve is on the list: the filter is loaded in urunc's init process right before it
// execs solo5-hvt, so nothing but the exec may run after loading it.
#pragma once

#include <seccomp.h>

#include <string_view>
#include <vector>

namespace urunc::vmm {

// Syscall names allowed for hvt on x86_64 (aarch64 = false) or aarch64.
std::vector<std::string_view> hvt_allowed_syscalls(bool aarch64);

// Owner of a libseccomp filter context (not loaded).
class SeccompFilter {
public:
    explicit SeccompFilter(scmp_filter_ctx ctx) noexcept : ctx_(ctx) {}
    SeccompFilter(const SeccompFilter &) = delete;
    SeccompFilter &operator=(const SeccompFilter &) = delete;
    SeccompFilter(SeccompFilter &&o) noexcept : ctx_(o.ctx_) { o.ctx_ = nullptr; }
    SeccompFilter &operator=(SeccompFilter &&) = delete;
    ~SeccompFilter()
    {
        if (ctx_)
            seccomp_release(ctx_);
    }
    scmp_filter_ctx get() const noexcept { return ctx_; }

private:
    scmp_filter_ctx ctx_;
};

// Build the hvt filter for the native architecture. Throws Error naming the failing step.
SeccompFilter build_hvt_filter();

// Build and load it into the calling process (all threads). Throws Error.
void load_hvt_filter();

}  // namespace urunc::vmm
