#include "rootfs/in_root.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace urunc;
using namespace urunc::rootfs;
using namespace urunc::rootfs::test;

namespace {

RootDir root_at(const TempDir &t)
{
    UniqueFd fd(::open(t.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd);
    return RootDir(std::move(fd), t.path());
}

mode_t type_of(const std::string &path)
{
    struct stat st;
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & S_IFMT;
}

}  // namespace

TEST_CASE("RootDir::make_file: an empty file to bind onto, made with its parents; an existing "
          "file is kept, anything else at the path fails",
          "[in_root]")
{
    TempDir t;
    RootDir root = root_at(t);

    root.make_file("/usr/lib/x86_64-linux-gnu/libfoo.so.1");
    CHECK(type_of(t / "usr/lib/x86_64-linux-gnu/libfoo.so.1") == S_IFREG);
    CHECK(read_file(t / "usr/lib/x86_64-linux-gnu/libfoo.so.1").empty());

    write_text(t / "usr/lib/x86_64-linux-gnu/libfoo.so.1", "kept");
    root.make_file("/usr/lib/x86_64-linux-gnu/libfoo.so.1");
    CHECK(read_file(t / "usr/lib/x86_64-linux-gnu/libfoo.so.1") == "kept");

    // A symlink is never followed out of the root: the target must not appear.
    REQUIRE(::symlink((t / "outside").c_str(), (t / "usr/lib/link").c_str()) == 0);
    try {
        root.make_file("/usr/lib/link");
        FAIL("make_file over a symlink succeeded");
    } catch (const Error &e) {
        CHECK(e.code() == ELOOP);
        CHECK(std::string(e.what()).find(t / "usr/lib/link") != std::string::npos);
    }
    CHECK(::access((t / "outside").c_str(), F_OK) < 0);

    REQUIRE(::mkdir((t / "usr/lib/dir").c_str(), 0755) == 0);
    try {
        root.make_file("/usr/lib/dir");
        FAIL("make_file over a directory succeeded");
    } catch (const Error &e) {
        CHECK(e.code() == EISDIR);
    }

    // A symlinked parent directory is not followed either.
    REQUIRE(::symlink(t.path().c_str(), (t / "usr/escape").c_str()) == 0);
    CHECK_THROWS_AS(root.make_file("/usr/escape/x"), Error);
    CHECK(::access((t / "x").c_str(), F_OK) < 0);
}

TEST_CASE("RootDir::symlink: the link with its parents, never through a symlinked parent",
          "[in_root]")
{
    TempDir t;
    RootDir root = root_at(t);
    root.symlink("libfoo.so.1.2.3", "/usr/lib/libfoo.so.1");
    CHECK(type_of(t / "usr/lib/libfoo.so.1") == S_IFLNK);
    char buf[64] = {};
    REQUIRE(::readlink((t / "usr/lib/libfoo.so.1").c_str(), buf, sizeof buf - 1) > 0);
    CHECK(std::string(buf) == "libfoo.so.1.2.3");
    // Twice at one path: the second fails (the plan never links a path twice).
    CHECK_THROWS_AS(root.symlink("other", "/usr/lib/libfoo.so.1"), Error);

    REQUIRE(::symlink(t.path().c_str(), (t / "usr/escape").c_str()) == 0);
    CHECK_THROWS_AS(root.symlink("x", "/usr/escape/link"), Error);
    CHECK(::access((t / "link").c_str(), F_OK) < 0);
}
