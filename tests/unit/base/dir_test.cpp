// UniqueDir lists without "." and ".."; CleanupErrors keeps every failure and goes on.
#include "base/cleanup_errors.hpp"
#include "base/dir.hpp"
#include "base/error.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>

using namespace urunc;

TEST_CASE("UniqueDir: entries without . and ..; a missing dir is empty with errno", "[base][dir]")
{
    char tmpl[] = "/tmp/urunc-dir-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    REQUIRE(::mkdir((dir + "/a").c_str(), 0700) == 0);
    REQUIRE(::close(::open((dir + "/b").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) == 0);
    std::set<std::string> names;
    {
        UniqueDir d = UniqueDir::open(dir);
        REQUIRE(d);
        CHECK(d.fd() >= 0);
        while (const dirent *e = d.next())
            names.insert(e->d_name);
    }
    CHECK(names == std::set<std::string>{"a", "b"});
    ::unlink((dir + "/b").c_str());
    ::rmdir((dir + "/a").c_str());
    {
        UniqueDir d = UniqueDir::adopt(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        REQUIRE(d);
        CHECK(d.next() == nullptr);
    }
    ::rmdir(dir.c_str());
    errno = 0;
    CHECK_FALSE(UniqueDir::open(dir));
    CHECK(errno == ENOENT);
    CHECK_FALSE(UniqueDir::adopt(-1));
}

TEST_CASE("CleanupErrors: every step runs, failures joined in order", "[base][cleanup]")
{
    CleanupErrors errors;
    int ran = 0;
    errors.attempt([&] {
        ++ran;
        throw Error("first");
    });
    errors.attempt([&] {
        ++ran;
        return std::string();
    });
    errors.attempt([&] {
        ++ran;
        return std::string("second");
    });
    errors.add("");
    errors.add("third");
    CHECK(ran == 3);
    CHECK(errors.str() == "first; second; third");
    CHECK(errors.str("tear down") == "tear down: first; second; third");
    CHECK(CleanupErrors().str("tear down") == "");
    CHECK(CleanupErrors().empty());
}
