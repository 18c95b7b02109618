#include "rootfs/file_cache.hpp"

#include "base/file.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

using namespace urunc::rootfs;
using urunc::rootfs::test::TempDir;
using urunc::rootfs::test::write_text;

namespace {

const CachedLists kLists = {{"libs", {"/usr/lib/a.so", "/usr/lib/b.so"}}, {"mods", {"/m.so"}}};

// Set a file's times back, content unchanged: only its timestamps tell.
void touch_back(const std::string &path)
{
    struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
    REQUIRE(::utimes(path.c_str(), tv) == 0);
}

}  // namespace

TEST_CASE("file cache: a stored answer is reused while its files are unchanged", "[rootfs][cache]")
{
    TempDir t;
    write_text(t / "bin", "BINARY");
    FileCache c(t / "cache", {"k1", t / "bin"});
    CHECK_FALSE(c.load());  // nothing stored yet
    c.store({t / "bin", t / "absent"}, kLists);
    auto hit = c.load();
    REQUIRE(hit);
    CHECK(*hit == kLists);
    // The directory and the entry are ours alone.
    struct stat st;
    REQUIRE(::stat((t / "cache").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(::stat(c.file().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    SECTION("another key misses, and has its own entry")
    {
        FileCache other(t / "cache", {"k1", t / "bin", "more"});
        CHECK(other.file() != c.file());
        CHECK_FALSE(other.load());
    }
    SECTION("a changed watched file misses")
    {
        write_text(t / "bin", "BINARY2");  // other size
        CHECK_FALSE(c.load());
    }
    SECTION("a watched file touched, content unchanged, misses")
    {
        touch_back(t / "bin");
        CHECK_FALSE(c.load());
    }
    SECTION("a watched file replaced by another inode misses")
    {
        write_text(t / "bin.new", "BINARY");
        REQUIRE(::rename((t / "bin.new").c_str(), (t / "bin").c_str()) == 0);
        CHECK_FALSE(c.load());
    }
    SECTION("a watched file removed misses")
    {
        REQUIRE(::unlink((t / "bin").c_str()) == 0);
        CHECK_FALSE(c.load());
    }
    SECTION("a file that was absent and now exists misses")
    {
        write_text(t / "absent", "");
        CHECK_FALSE(c.load());
    }
    SECTION("an entry writable by others is not trusted")
    {
        REQUIRE(::chmod(c.file().c_str(), 0622) == 0);
        CHECK_FALSE(c.load());
    }
    SECTION("an entry that is a symlink is not followed")
    {
        std::string copy = t / "elsewhere";
        REQUIRE(::rename(c.file().c_str(), copy.c_str()) == 0);
        REQUIRE(::symlink(copy.c_str(), c.file().c_str()) == 0);
        CHECK_FALSE(c.load());
    }
    SECTION("an entry owned by someone else is not trusted")
    {
        if (::geteuid() == 0) {  // only root can give a file away
            REQUIRE(::chown(c.file().c_str(), 65534, 65534) == 0);
            CHECK_FALSE(c.load());
        }
    }
    SECTION("a malformed entry misses")
    {
        for (const char *bad : {"", "urunc-file-cache 0\n", "urunc-file-cache 1\nX y\n",
                                "urunc-file-cache 1\nK k1\n",  // key incomplete
                                "urunc-file-cache 1\nVnospace\n"}) {
            urunc::write_file_atomic(c.file(), bad, 0600);
            CHECK_FALSE(c.load());
        }
    }
}

TEST_CASE("file cache: disabled, or unwritable, is only a miss", "[rootfs][cache]")
{
    TempDir t;
    FileCache off("", {"k"});
    off.store({}, kLists);
    CHECK_FALSE(off.load());
    CHECK(off.file().empty());

    write_text(t / "file", "x");
    FileCache blocked(t / "file/cache", {"k"});  // a file where the directory should be
    blocked.store({}, kLists);                   // must not throw
    CHECK_FALSE(blocked.load());

    // A value with a newline cannot be stored faithfully: nothing is stored.
    FileCache nl(t / "c2", {"k"});
    nl.store({}, {{"libs", {"a\nb"}}});
    CHECK_FALSE(nl.load());
}
