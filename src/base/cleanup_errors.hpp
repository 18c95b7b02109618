// Best-effort cleanup: every step runs, every failure is kept, the caller gets them all.
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/error.hpp"

namespace urunc {

class CleanupErrors {
public:
    // Keeps a failure; "" (a step that reports success that way) is ignored.
    void add(std::string what)
    {
        if (!what.empty())
            errors_.push_back(std::move(what));
    }
    // Runs step(); an Error it throws is kept and the caller goes on. A step returning a
    // string reports its own failures that way ("" = fine).
    template <class Step> void attempt(Step &&step)
    {
        try {
            if constexpr (std::is_same_v<decltype(step()), void>)
                step();
            else
                add(step());
        } catch (const Error &e) {
            add(e.what());
        }
    }
    bool empty() const { return errors_.empty(); }
    // The failures joined by "; " ("" when none), prefixed with `context: ` if given.
    std::string str(const std::string &context = "") const;

private:
    std::vector<std::string> errors_;
};

}  // namespace urunc
