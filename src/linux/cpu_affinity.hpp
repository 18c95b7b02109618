// Running a freshly cloned child on another CPU than its parent.
//
// The kernel queues a child of clone on its parent's CPU; while the parent keeps running,
// the child waits for it to block or for the load balancer to move it, even when the other
// CPU idles (measured on the reference machine: a child cloned by a parent busy for 2 ms
// first ran after ~2.2 ms; moved to the other CPU at once, after ~1.2 ms). create's parent
// places the init in its cgroups while the init builds the VMM's root, so create pins the
// init to another CPU, and the init unpins itself once it is placed.
#pragma once

#include <sched.h>
#include <sys/types.h>

namespace urunc::linux {

struct CpuPin {
    cpu_set_t before;  // the mask the child inherits
    int cpu = -1;      // the CPU it is pinned to; < 0: not pinned
};

// Before clone: this process's mask and a CPU of it other than the one it runs on (none
// with a single CPU allowed or on error).
CpuPin plan_cpu_pin() noexcept;

// After clone, in the parent: pin `child` to pin.cpu. Best effort.
void pin_to_cpu(pid_t child, const CpuPin &pin) noexcept;

// In the child, once placed in its cgroups: if its mask is still the pin, the mask it had
// before. A cpuset it was placed in has already replaced the pin with the cpuset's CPUs (as
// a child that was never pinned gets them): that mask stays. Best effort.
void unpin_from_cpu(const CpuPin &pin) noexcept;

}  // namespace urunc::linux
