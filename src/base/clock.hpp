#pragma once

#include <string>

namespace urunc {

// Now, as RFC 3339 in UTC with nanoseconds: 2026-11-24T10:03:54.123456789Z.
std::string rfc3339_now();

}  // namespace urunc
