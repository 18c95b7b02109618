// The dependency rule of docs/design.md: scripts/check-includes.sh fails on an include that
// points up. Run here so that every unit run (and CI) checks it.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

TEST_CASE("no include in src/ points up the dependency rule", "[layout]")
{
    std::string cmd = std::string("'") + URUNC_SOURCE_ROOT + "/scripts/check-includes.sh' '" +
                      URUNC_SOURCE_ROOT + "/src' 2>&1";
    FILE *p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    int status = ::pclose(p);
    INFO(out);
    CHECK(status == 0);
    CHECK(out.empty());
}
