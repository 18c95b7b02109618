// process.capabilities applied to the VMM: bounding set dropped, then effective,
// permitted and inheritable set exactly, ambient raised — as runc does for a process.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace urunc::oci {

struct Capabilities {
    std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

// "CAP_NET_ADMIN" -> 12. Throws Error "unknown capability `X`".
int capability_number(const std::string &name);
const std::vector<std::string> &known_capabilities();

// Call before changing uid (keeps the permitted set across setresuid).
void prepare_capabilities(const std::optional<Capabilities> &caps);
// Call after changing uid.
void apply_capabilities(const std::optional<Capabilities> &caps);

} // namespace urunc::oci
