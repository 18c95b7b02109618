#include "base/cleanup_errors.hpp"

namespace urunc {

std::string CleanupErrors::str(const std::string &context) const
{
    std::string out;
    for (const auto &e : errors_)
        out += (out.empty() ? "" : "; ") + e;
    return out.empty() || context.empty() ? out : context + ": " + out;
}

}  // namespace urunc
