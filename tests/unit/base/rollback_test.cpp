// Rollback: undo steps run last first unless committed; a failing step does not stop the
// others.
#include "base/error.hpp"
#include "base/rollback.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace urunc;

TEST_CASE("rollback: the steps run last first when the scope is left without commit")
{
    std::vector<int> ran;
    {
        Rollback r("test");
        r.add([&] {
            ran.push_back(1);
            return std::string();
        });
        r.add([&] {
            ran.push_back(2);
            return std::string();
        });
        r.add([&] {
            ran.push_back(3);
            return std::string();
        });
    }
    CHECK(ran == std::vector<int>{3, 2, 1});
}

TEST_CASE("rollback: nothing runs after commit")
{
    std::vector<int> ran;
    {
        Rollback r("test");
        r.add([&] {
            ran.push_back(1);
            return std::string();
        });
        r.commit();
    }
    CHECK(ran.empty());
}

TEST_CASE(
    "rollback: a step that fails or throws does not stop the others; the first error propagates")
{
    std::vector<int> ran;
    auto fail = [&] {
        Rollback r("test");
        r.add([&] {
            ran.push_back(1);
            return std::string();
        });
        r.add([&] {
            ran.push_back(2);
            throw urunc::Error("undo 2");
            return std::string();
        });
        r.add([&] {
            ran.push_back(3);
            return std::string("could not undo 3");
        });
        throw urunc::Error("the command's own error");
    };
    CHECK_THROWS_WITH(fail(), "the command's own error");
    CHECK(ran == std::vector<int>{3, 2, 1});
}
