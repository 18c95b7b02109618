// Root-only unit tests: tagged [privileged] and start with REQUIRE_PRIVILEGED(). As root
// (CI) they run; otherwise they fail loudly, never pass silently. A non-root developer run
// leaves them out on purpose with `unit_tests '~[privileged]'` (scripts/test.sh does that
// and counts them as skipped; under CI=true that is a failure).
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>

#define REQUIRE_PRIVILEGED(what)                                                                   \
    do {                                                                                           \
        if (::geteuid() != 0)                                                                      \
            FAIL("needs root (" << (what) << "); exclude root-only tests with '~[privileged]'");   \
    } while (0)
