#include "base/error.hpp"
#include "base/file.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

using namespace urunc;

namespace {

struct Dir {
    std::string path;
    Dir()
    {
        char tmpl[] = "/tmp/urunc-file-test.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~Dir() { remove_tree(path); }
};

std::string error_of(const std::string &path, size_t max)
{
    try {
        read_regular_file(path, max);
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE(
    "read_regular_file: regular files up to the cap; FIFOs, directories and big files refused",
    "[base][file]")
{
    Dir d;
    std::string f = d.path + "/f", fifo = d.path + "/fifo", big = d.path + "/big";
    write_file_atomic(f, "hello", 0644);
    CHECK(read_regular_file(f, 5) == "hello");
    CHECK(error_of(f, 4) == "`" + f + "` is 5 bytes, more than the 4 allowed");
    // A FIFO without a writer: the open does not block, the read is refused.
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(error_of(fifo, 100) == "`" + fifo + "` is not a regular file (it is a FIFO)");
    CHECK(error_of(d.path, 100) == "`" + d.path + "` is not a regular file (it is a directory)");
    // Sparse: the size is refused before a byte is read.
    UniqueFd b(::open(big.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    REQUIRE(::ftruncate(b.get(), 1LL << 30) == 0);
    CHECK(error_of(big, kMaxUruncJson) ==
          "`" + big + "` is 1073741824 bytes, more than the 16384 allowed");
}

TEST_CASE("require_free_space: a request larger than the filesystem is ENOSPC with the numbers",
          "[base][file]")
{
    Dir d;
    UniqueFd fd(::open(d.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    require_free_space(fd.get(), d.path, {1});
    try {
        require_free_space(fd.get(), d.path, {1ULL << 60});
        FAIL("no error");
    } catch (const Error &e) {
        CHECK(e.code() == ENOSPC);
        CHECK(std::string(e.what()).rfind("not enough space in `" + d.path +
                                              "`: need 1152921504606846976 bytes, have ",
                                          0) == 0);
    }
}
