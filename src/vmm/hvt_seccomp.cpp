#include "vmm/hvt_seccomp.hpp"

#include "base/error.hpp"

#include <string>

namespace urunc::vmm {

std::vector<std::string_view> hvt_allowed_syscalls(bool aarch64)
{
    // What solo5-hvt (and the dynamic loader before its main) needs: KVM ioctls, epoll and
    // timerfd for its event loop, net and block I/O, memory management, exit.
    std::vector<std::string_view> names{
        "rt_sigaction",    "ioctl",
        "pread64",         "mmap",
        "recvmsg",         "openat",
        "sendto",          "mprotect",
        "write",           "epoll_ctl",
        "epoll_create1",   "read",
        "close",           "fstat",
        "munmap",          "brk",
        "execve",          "timerfd_create",
        "lseek",           "personality",
        "socket",          "bind",
        "getsockname",     "exit",
        "exit_group",      "getpid",
        "tgkill",          "nanosleep",
        "futex",           "epoll_pwait",
        "rt_sigreturn",    "timerfd_settime",
        "pwrite64",        "set_tid_address",
        "set_robust_list", "rseq",
        "prlimit64",       "getrandom",
    };
    if (aarch64)
        // arm64 has only the *at forms; the kernel calls fstatat "newfstatat"
        names.insert(names.end(), {"faccessat", "newfstatat"});
    else
        names.insert(names.end(), {"open", "stat", "access", "arch_prctl", "newfstatat"});
    return names;
}

SeccompFilter build_hvt_filter()
{
    SeccompFilter f(seccomp_init(SCMP_ACT_TRAP));
    if (!f.get())
        throw Error("hvt seccomp: cannot create a filter context");
    // no_new_privs lets an unprivileged process load the filter and keeps execve from
    // granting privileges; TSYNC puts every thread of the process under the filter.
    if (int rc = seccomp_attr_set(f.get(), SCMP_FLTATR_CTL_NNP, 1); rc < 0)
        throw sys_error("hvt seccomp: set no_new_privs", -rc);
    if (int rc = seccomp_attr_set(f.get(), SCMP_FLTATR_CTL_TSYNC, 1); rc < 0)
        throw sys_error("hvt seccomp: set thread sync", -rc);
#if defined(__aarch64__)
    const bool aarch64 = true;
#else
    const bool aarch64 = false;
#endif
    for (std::string_view name : hvt_allowed_syscalls(aarch64)) {
        const std::string n(name);
        int nr = seccomp_syscall_resolve_name(n.c_str());
        if (nr == __NR_SCMP_ERROR)
            throw Error("hvt seccomp: unknown syscall `" + n + "`");
        if (int rc = seccomp_rule_add(f.get(), SCMP_ACT_ALLOW, nr, 0); rc < 0)
            throw sys_error("hvt seccomp: allow `" + n + "`", -rc);
    }
    return f;
}

void load_hvt_filter()
{
    SeccompFilter f = build_hvt_filter();
    if (int rc = seccomp_load(f.get()); rc < 0)
        throw sys_error("hvt seccomp: load filter", -rc);
}

}  // namespace urunc::vmm
