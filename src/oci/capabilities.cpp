#include "oci/capabilities.hpp"

#include "base/error.hpp"

namespace urunc::oci {

const std::vector<std::string> &known_capabilities()
{
    static const std::vector<std::string> names = {"CAP_CHOWN",
                                                   "CAP_DAC_OVERRIDE",
                                                   "CAP_DAC_READ_SEARCH",
                                                   "CAP_FOWNER",
                                                   "CAP_FSETID",
                                                   "CAP_KILL",
                                                   "CAP_SETGID",
                                                   "CAP_SETUID",
                                                   "CAP_SETPCAP",
                                                   "CAP_LINUX_IMMUTABLE",
                                                   "CAP_NET_BIND_SERVICE",
                                                   "CAP_NET_BROADCAST",
                                                   "CAP_NET_ADMIN",
                                                   "CAP_NET_RAW",
                                                   "CAP_IPC_LOCK",
                                                   "CAP_IPC_OWNER",
                                                   "CAP_SYS_MODULE",
                                                   "CAP_SYS_RAWIO",
                                                   "CAP_SYS_CHROOT",
                                                   "CAP_SYS_PTRACE",
                                                   "CAP_SYS_PACCT",
                                                   "CAP_SYS_ADMIN",
                                                   "CAP_SYS_BOOT",
                                                   "CAP_SYS_NICE",
                                                   "CAP_SYS_RESOURCE",
                                                   "CAP_SYS_TIME",
                                                   "CAP_SYS_TTY_CONFIG",
                                                   "CAP_MKNOD",
                                                   "CAP_LEASE",
                                                   "CAP_AUDIT_WRITE",
                                                   "CAP_AUDIT_CONTROL",
                                                   "CAP_SETFCAP",
                                                   "CAP_MAC_OVERRIDE",
                                                   "CAP_MAC_ADMIN",
                                                   "CAP_SYSLOG",
                                                   "CAP_WAKE_ALARM",
                                                   "CAP_BLOCK_SUSPEND",
                                                   "CAP_AUDIT_READ",
                                                   "CAP_PERFMON",
                                                   "CAP_BPF",
                                                   "CAP_CHECKPOINT_RESTORE"};
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

}  // namespace urunc::oci
