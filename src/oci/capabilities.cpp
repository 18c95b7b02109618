#include "oci/capabilities.hpp"

#include "base/error.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace urunc::oci {

const std::vector<std::string> &known_capabilities()
{
    static const std::vector<std::string> names = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
        "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
    return names;
}

int capability_number(const std::string &name)
{
    const auto &names = known_capabilities();
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name)
            return static_cast<int>(i);
    throw Error("unknown capability `" + name + "`");
}

void prepare_capabilities(const std::optional<Capabilities> &caps)
{
    if (!caps)
        return;
    int last = 0;
    while (::prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
        ++last;
    for (int c = 0; c <= last; ++c) {
        bool keep = false;
        for (int b : caps->bounding)
            keep = keep || b == c;
        if (!keep && ::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            throw sys_error("drop capability " + std::to_string(c) + " from the bounding set");
    }
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        throw sys_error("prctl keepcaps");
}

void apply_capabilities(const std::optional<Capabilities> &caps)
{
    if (!caps)
        return;
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {};
    auto set = [&](const std::vector<int> &list, auto member) {
        for (int c : list)
            data[c / 32].*member |= 1u << (c % 32);
    };
    set(caps->effective, &__user_cap_data_struct::effective);
    set(caps->permitted, &__user_cap_data_struct::permitted);
    set(caps->inheritable, &__user_cap_data_struct::inheritable);
    if (::syscall(SYS_capset, &hdr, data) < 0)
        throw sys_error("capset");
    for (int c : caps->ambient)
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            throw sys_error("raise ambient capability " + known_capabilities()[c]);
}

} // namespace urunc::oci
