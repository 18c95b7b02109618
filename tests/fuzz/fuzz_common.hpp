// Shared by the libFuzzer targets: quiet logging and a check that stops the run.
// A target catches urunc::Error (the parsers' documented failure); anything else that
// escapes (another exception type, a sanitizer report, a failed check) is a finding.
#pragma once

#include "base/log.hpp"

#include <cstdio>
#include <cstdlib>

namespace urunc::fuzz {

// Parsers warn about unknown keys; at millions of inputs that is only noise.
inline void quiet_log()
{
    log::Options o;
    o.file = "/dev/null";
    log::setup(o);
}

}  // namespace urunc::fuzz

// An invariant of the code under test; on failure print it and abort so libFuzzer
// saves the input as a crash.
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)
