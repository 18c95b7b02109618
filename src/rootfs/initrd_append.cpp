#include "rootfs/initrd_append.hpp"

#include "base/error.hpp"
#include "base/rollback.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace urunc::rootfs {
namespace {

void pad4(std::string &out)
{
    while (out.size() % 4)
        out += '\0';
}

void member(std::string &out, unsigned ino, const std::string &name, unsigned mode,
            const std::string &data)
{
    char hdr[111];
    std::snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                  ino, mode, 0u, 0u, 1u, 0u, static_cast<unsigned>(data.size()), 0u, 0u, 0u, 0u,
                  static_cast<unsigned>(name.size() + 1), 0u);
    out.append(hdr, 110);
    out += name;
    out += '\0';
    pad4(out);
    out += data;
    pad4(out);
}

}  // namespace

std::string newc_archive(const std::vector<std::pair<std::string, std::string>> &files)
{
    std::string out;
    unsigned ino = 1;
    for (const auto &[path, content] : files) {
        std::string name = path;
        name.erase(0, name.find_first_not_of('/'));
        if (name.empty())
            throw Error("initrd file `" + path + "`: empty name", EINVAL);
        member(out, ino++, name, S_IFREG | 0644, content);
    }
    member(out, 0, "TRAILER!!!", 0, "");
    return out;
}

void write_initrd_with_files(int initrd_fd, const std::string &dest,
                             const std::vector<std::pair<std::string, std::string>> &files)
{
    // The artifact fd may be O_PATH: reopen it for reading.
    std::string src = "/proc/self/fd/" + std::to_string(initrd_fd);
    UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in)
        throw sys_error("open initrd `" + src + "`");
    struct stat st;
    if (::fstat(in.get(), &st) < 0)
        throw sys_error("stat initrd");
    if (!S_ISREG(st.st_mode))
        throw Error("initrd `" + src + "` is not a regular file", EINVAL);
    std::string tail(static_cast<size_t>((4 - st.st_size % 4) % 4), '\0');
    tail += newc_archive(files);

    std::string dir = dest.substr(0, dest.rfind('/') + 1);
    UniqueFd dirfd(::open(dir.empty() ? "." : dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd)
        throw sys_error("open `" + dir + "`");
    require_free_space(dirfd.get(), dir, {static_cast<uint64_t>(st.st_size) + tail.size()});

    UniqueFd out(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out)
        throw sys_error("create `" + dest + "`");
    // A partial initrd is useless and takes space: it never stays behind.
    Rollback undo("initrd `" + dest + "`");
    undo.add([&] {
        ::unlink(dest.c_str());
        return std::string();
    });
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n =
            ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(left), 0);
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS))
            n = ::sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw sys_error("copy initrd to `" + dest + "`");
        if (n == 0)
            throw Error("copy initrd to `" + dest + "`: the source shrank while copying", EIO);
        left -= n;
    }
    write_all(out.get(), tail, dest);
    undo.commit();
}

}  // namespace urunc::rootfs
