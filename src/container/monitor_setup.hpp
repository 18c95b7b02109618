// Assemble the VMM's minimal root from a Launch (runs in the init, in its private mount
// namespace) and enter it.
#pragma once

#include "container/launch.hpp"

namespace urunc::container {

void prepare_monitor_root(const Launch &l);
void enter_monitor_root(const Launch &l);

}  // namespace urunc::container
