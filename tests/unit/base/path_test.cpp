// The one lexical path cleaner and its two variants: where they agree and where they differ.
#include "base/path.hpp"

#include <catch2/catch.hpp>

using namespace urunc;

TEST_CASE("clean_path: Go's path.Clean rule", "[base][path]")
{
    CHECK(clean_path("") == ".");
    CHECK(clean_path(".") == ".");
    CHECK(clean_path("a//b/./c/..") == "a/b");
    CHECK(clean_path("a/..") == ".");
    CHECK(clean_path("../../a") == "../../a");
    CHECK(clean_path("a/../../b") == "../b");
    CHECK(clean_path("/") == "/");
    CHECK(clean_path("/../a/") == "/a");
    CHECK(clean_path("//a///b//") == "/a/b");
}

TEST_CASE("clean_path_within: never above the start", "[base][path]")
{
    CHECK(clean_path_within("") == "");
    CHECK(clean_path_within("../a") == "a");
    CHECK(clean_path_within("a/../../b") == "b");
    CHECK(clean_path_within("/../../x/./y/") == "/x/y");
    CHECK(clean_path_within("/..") == "/");
    CHECK(clean_path_within("a/b/..") == "a");
}

TEST_CASE("normalize_path: the absolute form mountinfo uses", "[base][path]")
{
    CHECK(normalize_path("") == "/");
    CHECK(normalize_path("/") == "/");
    CHECK(normalize_path("/a//b/") == "/a/b");
    CHECK(normalize_path("/a/./b/../c") == "/a/c");
    CHECK(normalize_path("/../a") == "/a");
    CHECK(normalize_path("a/b") == "/a/b");
    for (auto p : {"/x/../y", "a/./b", "/..", "//"})
        CHECK(normalize_path(p) == clean_path(std::string("/") + p));
}
