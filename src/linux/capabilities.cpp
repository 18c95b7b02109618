#include "linux/capabilities.hpp"

#include "base/error.hpp"
#include "base/log.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace urunc::linux {
using oci::Capabilities;
using oci::known_capabilities;

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
    // The kernel raises an ambient capability only when it is both permitted and
    // inheritable. `runc spec`'s own default lists ambient capabilities with no inheritable
    // set, and runc starts that bundle with a warning: so does urunc (the capability is
    // then only not ambient; the effective and permitted sets above already hold).
    for (int c : caps->ambient)
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) {
            if (errno != EPERM)
                throw sys_error("raise ambient capability " + known_capabilities()[c]);
            log::warn("ambient capability {} not raised: it is not both permitted and "
                      "inheritable in the spec",
                      known_capabilities()[c]);
        }
}

}  // namespace urunc::linux
