// process.capabilities applied to the VMM: bounding set dropped, then effective,
// permitted and inheritable set exactly, ambient raised — as runc does for a process.
#pragma once

#include "linux/namespace.hpp"

#include "oci/capabilities.hpp"

#include <optional>

namespace urunc::linux {

// Call before changing uid (keeps the permitted set across setresuid).
void prepare_capabilities(const std::optional<oci::Capabilities> &caps);
// Call after changing uid.
void apply_capabilities(const std::optional<oci::Capabilities> &caps);

}  // namespace urunc::linux
