// The house rules that a script checks, run here so that every unit run (and CI) checks them:
// the dependency rule of docs/design.md (scripts/check-includes.sh fails on an include that
// points up), the house format (scripts/check-format.sh, .clang-format) and the length of
// functions (scripts/check-function-length.sh).
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

namespace {

// Runs `script arg` from the source tree; its exit status and everything it printed.
std::pair<int, std::string> run_script(const std::string &script, const std::string &arg)
{
    std::string cmd =
        std::string("'") + URUNC_SOURCE_ROOT + "/scripts/" + script + "' '" + arg + "' 2>&1";
    FILE *p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    return {::pclose(p), out};
}

}  // namespace

TEST_CASE("no include in src/ points up the dependency rule", "[layout]")
{
    auto [status, out] = run_script("check-includes.sh", std::string(URUNC_SOURCE_ROOT) + "/src");
    INFO(out);
    CHECK(status == 0);
    CHECK(out.empty());
}

TEST_CASE("every C++ file is in the house format", "[layout]")
{
    auto [status, out] = run_script("check-format.sh", URUNC_SOURCE_ROOT);
    INFO(out);
    CHECK(status == 0);
    CHECK(out.empty());
}

TEST_CASE("no function in src/ is longer than 80 lines", "[layout]")
{
    auto [status, out] =
        run_script("check-function-length.sh", std::string(URUNC_SOURCE_ROOT) + "/src");
    INFO(out);
    CHECK(status == 0);
    CHECK(out.empty());
}
