// process.capabilities as sets of numbers, and the capability name table. Applying them
// is linux/capabilities.hpp.
#pragma once

#include <string>
#include <vector>

namespace urunc::oci {

struct Capabilities {
    std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

// "CAP_NET_ADMIN" -> 12. Throws Error "unknown capability `X`".
int capability_number(const std::string &name);
const std::vector<std::string> &known_capabilities();

}  // namespace urunc::oci
