#include "base/strings.hpp"

#include <catch2/catch.hpp>

using namespace urunc;

TEST_CASE("base64 decodes strict RFC 4648 only")
{
    CHECK(base64_decode("cWVtdQ==") == std::optional<std::string>("qemu"));
    CHECK(base64_decode("L3VuaWtlcm5lbC9odHRwLWMucWVtdQ==") ==
          std::optional<std::string>("/unikernel/http-c.qemu"));
    CHECK_FALSE(base64_decode("qemu!").has_value());
    CHECK_FALSE(base64_decode("cWVtdQ=").has_value());
    CHECK_FALSE(base64_decode("").has_value());
    CHECK_FALSE(base64_decode("cW=tdQ==").has_value());
}

TEST_CASE("split and join")
{
    CHECK(split("a,b,,c", ',') == std::vector<std::string>{"a", "b", "", "c"});
    CHECK(split_ws("  a  b\tc ") == std::vector<std::string>{"a", "b", "c"});
    CHECK(join({"a", "b"}, " ") == "a b");
    CHECK(json_quote("a\"b\n") == "\"a\\\"b\\n\"");
}
