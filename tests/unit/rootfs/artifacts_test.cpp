#include "rootfs/artifacts.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace urunc;
using namespace urunc::rootfs;
using namespace urunc::rootfs::test;

namespace {

// An image root with /unikernel/app (0755), /unikernel/initrd and /urunc.json.
struct Image {
    TempDir tmp;
    std::string root = tmp / "root";
    UniqueFd rootfd;
    Image()
    {
        mkdir_p(root + "/unikernel");
        write_text(root + "/unikernel/app", std::string(10000, 'k'));
        ::chmod((root + "/unikernel/app").c_str(), 0755);
        write_text(root + "/unikernel/initrd", "INITRD");
        write_text(root + "/urunc.json", "{}");
        rootfd.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
};

std::string mode_of(const std::string &path)
{
    struct stat st;
    if (::stat(path.c_str(), &st) < 0)
        return "missing";
    char buf[8];
    std::snprintf(buf, sizeof buf, "%o", st.st_mode & 07777);
    return buf;
}

}  // namespace

TEST_CASE("artifacts: kernel, initrd and urunc.json are opened inside the root",
          "[rootfs][artifacts]")
{
    Image img;
    auto a =
        open_artifacts(img.rootfd.get(), {"/unikernel/app", "unikernel/initrd", "/urunc.json"});
    CHECK(a.kernel.path == "/unikernel/app");
    CHECK(a.kernel.relpath == "unikernel/app");
    CHECK(a.kernel.size == 10000);
    CHECK(a.kernel.mode == 0755);
    REQUIRE(a.initrd);
    CHECK(a.initrd->relpath == "unikernel/initrd");
    REQUIRE(a.config);
    CHECK(a.config->size == 2);
    CHECK(a.total_size() == 10008);
    CHECK(a.all().size() == 3);
    // The /proc/self/fd path reaches the very file (what a bind mount or the VMM uses).
    CHECK(read_file(a.initrd->proc_path()) == "INITRD");
}

TEST_CASE("artifacts: optional parts", "[rootfs][artifacts]")
{
    Image img;
    ::unlink((img.root + "/urunc.json").c_str());
    auto a = open_artifacts(img.rootfd.get(), {"/unikernel/app", "", "/urunc.json"});
    CHECK_FALSE(a.initrd);
    CHECK_FALSE(a.config);  // absent urunc.json: config comes from annotations
    CHECK(error_of([&] {
              open_artifacts(img.rootfd.get(), {"/unikernel/app", "/absent", ""});
          }) == "initrd: open `/absent` in `" + img.root + "`: No such file or directory");
    CHECK(error_of([&] {
              open_artifacts(img.rootfd.get(), {"", "", ""});
          }) == "kernel: the path is empty");
}

TEST_CASE("artifacts: directories, fifos and escapes are refused", "[rootfs][artifacts]")
{
    Image img;
    CHECK(error_of([&] {
              open_artifacts(img.rootfd.get(), {"/unikernel", "", ""});
          }) == "kernel: `/unikernel` is not a regular file (it is a directory)");
    // O_PATH: a fifo is refused without blocking on it.
    REQUIRE(::mkfifo((img.root + "/fifo").c_str(), 0644) == 0);
    CHECK(error_of([&] {
              open_artifacts(img.rootfd.get(), {"/fifo", "", ""});
          }) == "kernel: `/fifo` is not a regular file (it is a FIFO)");
    write_text(img.tmp / "host-file", "secret");
    REQUIRE(::symlink((img.tmp / "host-file").c_str(), (img.root + "/urunc.json.lnk").c_str()) ==
            0);
    // Optional does not mean an escape is ignored.
    CHECK(error_of([&] {
              open_artifacts(img.rootfd.get(), {"/unikernel/app", "", "/urunc.json.lnk"});
          }) == "urunc.json: `/urunc.json.lnk` in `" + img.root +
                    "` escapes it through a symlink, .. or a mount inside it");
    REQUIRE(::symlink("app", (img.root + "/unikernel/current").c_str()) == 0);
    CHECK(open_artifacts(img.rootfd.get(), {"/unikernel/current", "", ""}).kernel.size == 10000);
}

TEST_CASE("artifacts: the fallback copy keeps relative paths and modes", "[rootfs][artifacts]")
{
    Image img;
    auto a =
        open_artifacts(img.rootfd.get(), {"/unikernel/app", "/unikernel/initrd", "/urunc.json"});
    std::string dest = img.tmp / "copy";
    {
        auto c = copy_artifacts(a, dest);
        CHECK(c.dir() == dest);
        CHECK(c.kernel == dest + "/unikernel/app");
        CHECK(c.initrd == dest + "/unikernel/initrd");
        CHECK(c.config == dest + "/urunc.json");
        CHECK(read_file(c.kernel) == std::string(10000, 'k'));
        CHECK(read_file(c.initrd) == "INITRD");
        CHECK(mode_of(c.kernel) == "755");
        CHECK(mode_of(c.config) == "644");
    }
    // Not released: the copy went away with the object.
    CHECK_FALSE(path_exists(dest));

    {
        auto c = copy_artifacts(a, dest);
        c.release();
    }
    CHECK(path_exists(dest + "/unikernel/app"));
    // A second copy into a non-empty directory is refused, and leaves it alone.
    CHECK(error_of([&] { copy_artifacts(a, dest); }) ==
          "artifact copy directory `" + dest + "` already exists and is not empty");
    CHECK(path_exists(dest + "/unikernel/app"));
    CHECK(remove_tree(dest).empty());
}

TEST_CASE("artifacts: copy across filesystems and refusal when space is short",
          "[rootfs][artifacts][privileged]")
{
    enter_private_mount_ns();
    Image img;
    // Source on a tmpfs, destination on /tmp's filesystem: copy_file_range may say EXDEV.
    std::string src = img.tmp / "src";
    mkdir_p(src);
    ScopedMount srcfs("tmpfs", src, "tmpfs", 0, "size=1m");
    write_text(src + "/big", std::string(300000, 'b'));
    UniqueFd srcfd(::open(src.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    auto a = open_artifacts(srcfd.get(), {"/big", "", ""});
    {
        auto c = copy_artifacts(a, img.tmp / "copy");
        CHECK(read_file(c.kernel) == std::string(300000, 'b'));
    }
    std::string small = img.tmp / "small";
    mkdir_p(small);
    ScopedMount smallfs("tmpfs", small, "tmpfs", 0, "size=64k");
    std::string msg = error_of([&] { copy_artifacts(a, small + "/copy"); });
    CHECK(msg.find("not enough space in `" + small + "/copy`: need 303104 bytes, have ") == 0);
    CHECK_FALSE(path_exists(small + "/copy"));
}
