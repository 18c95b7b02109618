// Assemble the VMM's minimal root from a Launch (runs in the init, in its private mount
// namespace) and enter it.
#pragma once

#include "container/launch.hpp"
#include "rootfs/monitor_root.hpp"

namespace urunc::container {

// The root's mounts (the first part: see rootfs::MonitorRootBuild); finish() does the rest.
rootfs::MonitorRootBuild begin_monitor_root(const Launch &l);
void enter_monitor_root(const Launch &l);

}  // namespace urunc::container
