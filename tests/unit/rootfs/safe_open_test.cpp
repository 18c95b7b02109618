#include "rootfs/safe_open.hpp"

#include "base/error.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace urunc;
using namespace urunc::rootfs;
using urunc::rootfs::test::error_of;
using urunc::rootfs::test::TempDir;
using urunc::rootfs::test::write_text;

namespace {

// root/ holds kernel, boot/vmlinuz (relative symlink, inside), and the escapes.
struct Tree {
    TempDir tmp;
    std::string root = tmp / "root";
    UniqueFd rootfd;
    Tree()
    {
        ::mkdir(root.c_str(), 0755);
        ::mkdir((root + "/boot").c_str(), 0755);
        ::mkdir((root + "/dir").c_str(), 0755);
        write_text(root + "/kernel", "KERNEL");
        write_text(tmp / "outside", "HOST SECRET");
        ::symlink("../kernel", (root + "/boot/vmlinuz").c_str());
        ::symlink("dir/../kernel", (root + "/rel-dotdot-inside").c_str());
        ::symlink((tmp / "outside").c_str(), (root + "/abs-out").c_str());
        ::symlink("/kernel", (root + "/abs-in").c_str());
        ::symlink("../outside", (root + "/rel-out").c_str());
        ::symlink("/proc/self/root", (root + "/magic").c_str());
        rootfd.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
};

}  // namespace

TEST_CASE("open_in_root follows symlinks that stay inside", "[rootfs][safe_open]")
{
    Tree t;
    for (const char *p :
         {"kernel", "/kernel", "boot/vmlinuz", "/boot/../kernel", "rel-dotdot-inside"}) {
        INFO(p);
        auto fd = open_in_root(t.rootfd.get(), p, O_PATH);
        REQUIRE(fd);
        CHECK(regular_file_size(fd.get(), p) == 6);
    }
}

TEST_CASE("open_in_root refuses any escape", "[rootfs][safe_open]")
{
    Tree t;
    // An absolute symlink is refused even when its target would exist inside the root:
    // it names a host path, so the image is wrong (RESOLVE_BENEATH, not RESOLVE_IN_ROOT).
    for (const char *p : {"abs-out", "abs-in", "rel-out", "../outside", "dir/../../outside"}) {
        INFO(p);
        std::string msg = error_of([&] { open_in_root(t.rootfd.get(), p, O_PATH); });
        CHECK(msg == "`" + std::string(p) + "` in `" + t.root +
                         "` escapes it through a symlink, .. or a mount inside it");
    }
    try {
        open_in_root(t.rootfd.get(), "abs-out", O_RDONLY);
        FAIL("escaped");
    } catch (const Error &e) {
        CHECK(e.code() == EXDEV);
    }
    CHECK_FALSE(error_of([&] { open_in_root(t.rootfd.get(), "magic/etc", O_PATH); }).empty());
}

TEST_CASE("open_in_root reports a missing file with errno and paths", "[rootfs][safe_open]")
{
    Tree t;
    std::string msg = error_of([&] { open_in_root(t.rootfd.get(), "/nope", O_PATH); });
    CHECK(msg == "open `/nope` in `" + t.root + "`: No such file or directory");
}

TEST_CASE("open_no_symlinks names the symlink component", "[rootfs][safe_open]")
{
    Tree t;
    CHECK(open_no_symlinks(t.root + "/kernel", O_PATH));
    CHECK(error_of([&] { open_no_symlinks(t.root + "/boot/vmlinuz", O_PATH); }) ==
          "`" + t.root + "/boot/vmlinuz`: `" + t.root +
              "/boot/vmlinuz` is a symlink, and symlinks "
              "are not followed here");
    ::symlink("root", (t.tmp / "link").c_str());
    CHECK(error_of([&] { open_no_symlinks(t.tmp / "link/kernel", O_PATH); }) ==
          "`" + (t.tmp / "link/kernel") + "`: `" + (t.tmp / "link") +
              "` is a symlink, and symlinks are not followed here");
    CHECK(error_of([&] { open_no_symlinks(t.tmp / "absent", O_PATH); }) ==
          "open `" + (t.tmp / "absent") + "`: No such file or directory");
}

TEST_CASE("regular_file_size refuses what is not a regular file", "[rootfs][safe_open]")
{
    Tree t;
    auto dir = open_in_root(t.rootfd.get(), "dir", O_PATH);
    CHECK(error_of([&] { regular_file_size(dir.get(), "dir"); }) ==
          "`dir` is not a regular file (it is a directory)");
    auto null = open_no_symlinks("/dev/null", O_PATH);
    CHECK(error_of([&] { regular_file_size(null.get(), "/dev/null"); }) ==
          "`/dev/null` is not a regular file (it is a character device)");
}

TEST_CASE("reopen_same: the same inode passes, a swapped symlink is refused", "[rootfs][safe_open]")
{
    TempDir tmp;
    std::string a = tmp / "a", b = tmp / "b", link = tmp / "rootfs";
    ::mkdir(a.c_str(), 0755);
    ::mkdir(b.c_str(), 0755);
    REQUIRE(::symlink("a", link.c_str()) == 0);
    UniqueFd checked(::open(link.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(checked);
    CHECK(reopen_same(link, checked.get(), O_DIRECTORY));
    // the symlink is re-pointed between the check and the act
    REQUIRE(::unlink(link.c_str()) == 0);
    REQUIRE(::symlink("b", link.c_str()) == 0);
    std::string err = error_of([&] { reopen_same(link, checked.get(), O_DIRECTORY); });
    CHECK(err == "`" + link + "` changed since it was checked (it was `" + a + "`, it is now `" +
                     b + "`)");
}
