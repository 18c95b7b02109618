#include "base/rollback.hpp"

#include "base/log.hpp"

#include <exception>

namespace urunc {

Rollback::~Rollback()
{
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
        std::string left;
        try {
            left = (*it)();
        } catch (const std::exception &e) {
            left = e.what();
        } catch (...) {
            left = "an undo step failed";
        }
        // A destructor must not throw, not even when the log cannot be written.
        try {
            if (!left.empty())
                log::warn("{}: {}", context_, left);
        } catch (...) {
        }
    }
}

}  // namespace urunc
