#include "linux/cpu_affinity.hpp"

#include <cerrno>

namespace urunc::linux {

CpuPin plan_cpu_pin() noexcept
{
    CpuPin p;
    CPU_ZERO(&p.before);
    int saved = errno;
    int here = ::sched_getcpu();
    if (here >= 0 && ::sched_getaffinity(0, sizeof p.before, &p.before) == 0 &&
        CPU_COUNT(&p.before) > 1)
        for (int i = 1; i < CPU_SETSIZE && p.cpu < 0; ++i)
            if (CPU_ISSET((here + i) % CPU_SETSIZE, &p.before))
                p.cpu = (here + i) % CPU_SETSIZE;
    errno = saved;
    return p;
}

void pin_to_cpu(pid_t child, const CpuPin &pin) noexcept
{
    if (pin.cpu < 0 || child <= 0)
        return;
    int saved = errno;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(pin.cpu, &one);
    ::sched_setaffinity(child, sizeof one, &one);
    errno = saved;
}

void unpin_from_cpu(const CpuPin &pin) noexcept
{
    if (pin.cpu < 0)
        return;
    int saved = errno;
    cpu_set_t now;
    CPU_ZERO(&now);
    if (::sched_getaffinity(0, sizeof now, &now) == 0 && CPU_COUNT(&now) == 1 &&
        CPU_ISSET(pin.cpu, &now))
        ::sched_setaffinity(0, sizeof pin.before, &pin.before);
    errno = saved;
}

}  // namespace urunc::linux
