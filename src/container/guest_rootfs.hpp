#pragma once

#include "container/launch.hpp"

#include <string>

namespace urunc::oci {

// Decide the guest rootfs and the artifact source; open (or, for a block rootfs without a
// view, copy) the artifacts. Fills the rootfs parts of `l`. Throws Error with the rule.
void choose_guest_rootfs(Launch &l, const std::string &state_dir);

}  // namespace urunc::oci
