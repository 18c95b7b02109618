#pragma once

#include <string>

namespace urunc::oci {

// "9", "KILL", "SIGKILL", "sigkill" -> 9. Throws Error "unknown signal `X`".
int parse_signal(const std::string &s);

}  // namespace urunc::oci
