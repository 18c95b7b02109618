#include "rootfs/initrd_append.hpp"

#include "base/file.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

using namespace urunc;

TEST_CASE("newc archive: one member and the trailer, 4-byte aligned", "[rootfs][initrd]")
{
    std::string a = rootfs::newc_archive({{"/urunit.conf", "UES\nUEE\n"}});
    REQUIRE(a.size() % 4 == 0);
    CHECK(a.substr(0, 6) == "070701");
    // c_filesize (7th field) = 8, c_namesize (12th) = strlen("urunit.conf") + 1 = 12
    CHECK(a.substr(6 + 6 * 8, 8) == "00000008");
    CHECK(a.substr(6 + 11 * 8, 8) == "0000000C");
    CHECK(a.substr(110, 12) == std::string("urunit.conf\0", 12));
    CHECK(a.find("UES\nUEE\n") != std::string::npos);
    CHECK(a.find(std::string("TRAILER!!!\0", 11)) != std::string::npos);
}

TEST_CASE("initrd with files: the original, padding, then the archive", "[rootfs][initrd]")
{
    char tmpl[] = "/tmp/urunc-initrd-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    std::string orig = dir + "/orig";
    // An uncompressed newc archive with one file, 3 bytes longer than a multiple of 4 would be
    // in a real image; here any bytes do for the concatenation check.
    write_file_atomic(orig, rootfs::newc_archive({{"/init", "#!/bin/sh\n"}}) + "xyz", 0644);
    int fd = ::open(orig.c_str(), O_PATH | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::string dest = dir + "/combined";
    rootfs::write_initrd_with_files(fd, dest, {{"/urunit.conf", "UCS\nUID:1000\nUCE\n"}});
    ::close(fd);
    std::string got = read_file(dest);
    std::string o = read_file(orig);
    CHECK(got.substr(0, o.size()) == o);
    CHECK(got.size() % 4 == 0);
    CHECK(got.find("UID:1000") != std::string::npos);
    // Writing over an existing file is refused (O_EXCL): a stale one is never reused.
    fd = ::open(orig.c_str(), O_PATH | O_CLOEXEC);
    CHECK_THROWS(rootfs::write_initrd_with_files(fd, dest, {{"/x", "y"}}));
    ::close(fd);
    remove_tree(dir);
}
