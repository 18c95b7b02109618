#include "rootfs/safe_open.hpp"

#include "base/error.hpp"
#include "base/file.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace urunc::rootfs {

namespace {

// glibc 2.36 has no wrapper for openat2.
int sys_openat2(int dirfd, const char *path, std::uint64_t flags, std::uint64_t resolve)
{
    struct open_how how = {};
    how.flags = flags | O_CLOEXEC;
    how.resolve = resolve;
    for (int attempt = 0;; ++attempt) {
        int fd = static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
        // EAGAIN: a concurrent rename raced the ".." check; the kernel asks for a retry.
        if (fd >= 0 || errno != EAGAIN || attempt == 32)
            return fd;
    }
}

Error no_openat2(const std::string &path)
{
    return Error("open `" + path +
                     "`: openat2 is not supported by this kernel (Linux 5.6 or later "
                     "is needed to resolve paths safely)",
                 ENOSYS);
}

}  // namespace

UniqueFd reopen_same(const std::string &path, int checked_fd, int flags)
{
    UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC | flags));
    if (!fd)
        throw sys_error("open `" + path + "`");
    struct stat a, b;
    if (::fstat(checked_fd, &a) < 0 || ::fstat(fd.get(), &b) < 0)
        throw sys_error("stat `" + path + "`");
    if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        throw Error("`" + path + "` changed since it was checked (it was `" + fd_path(checked_fd) +
                        "`, it is now `" + fd_path(fd.get()) + "`)",
                    ESTALE);
    return fd;
}

std::string fd_path(int fd)
{
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    char buf[4096];
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n < 0)
        return link;
    return std::string(buf, static_cast<size_t>(n));
}

UniqueFd open_in_root(int root_dirfd, const std::string &path, int flags)
{
    if (path.find('\0') != std::string::npos)
        throw Error("open `" + path + "`: the path contains a NUL byte", EINVAL);
    std::string rel = path;
    rel.erase(0, rel.find_first_not_of('/'));
    if (rel.empty())
        rel = ".";
    // RESOLVE_NO_XDEV: a mount inside the root (e.g. a writable tmpfs over a directory of a
    // read-only view) must not supply the file: what was validated is the root's own mount.
    int fd = sys_openat2(root_dirfd, rel.c_str(), static_cast<std::uint64_t>(flags),
                         RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
    if (fd >= 0)
        return UniqueFd(fd);
    int err = errno;
    std::string root = fd_path(root_dirfd);
    if (err == EXDEV)
        throw Error("`" + path + "` in `" + root +
                        "` escapes it through a symlink, .. or a mount inside it",
                    EXDEV);
    if (err == ENOSYS)
        throw no_openat2(path);
    throw sys_error("open `" + path + "` in `" + root + "`", err);
}

UniqueFd open_no_symlinks(const std::string &abs_path, int flags)
{
    int fd = sys_openat2(AT_FDCWD, abs_path.c_str(), static_cast<std::uint64_t>(flags),
                         RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0)
        return UniqueFd(fd);
    int err = errno;
    if (err == ENOSYS)
        throw no_openat2(abs_path);
    if (err == ELOOP) {
        std::string link = first_symlink_component(abs_path);
        if (!link.empty())
            throw Error("`" + abs_path + "`: `" + link +
                            "` is a symlink, and symlinks are not "
                            "followed here",
                        ELOOP);
    }
    throw sys_error("open `" + abs_path + "`", err);
}

std::string first_symlink_component(const std::string &abs_path)
{
    size_t pos = 0;
    do {
        pos = abs_path.find('/', pos + 1);
        std::string prefix = abs_path.substr(0, pos);
        struct stat st;
        if (::lstat(prefix.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
            return prefix;
    } while (pos != std::string::npos);
    return "";
}

std::uint64_t regular_file_size(int fd, const std::string &what)
{
    struct stat st;
    if (::fstat(fd, &st) < 0)
        throw sys_error("stat `" + what + "`");
    if (!S_ISREG(st.st_mode))
        throw Error("`" + what + "` is not a regular file (it is " + file_kind(st.st_mode) + ")",
                    S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace urunc::rootfs
