#include "base/file.hpp"

#include "base/cleanup_errors.hpp"
#include "base/dir.hpp"
#include "base/error.hpp"
#include "base/rollback.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace urunc {

std::string read_fd(int fd, const std::string &what, size_t max)
{
    // The file may grow while it is read: never read past the cap.
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw sys_error("read `" + what + "`");
        }
        if (n == 0)
            break;
        if (out.size() + static_cast<size_t>(n) > max)
            throw Error("`" + what + "` grew past the " + std::to_string(max) + " bytes allowed",
                        EFBIG);
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string read_file(const std::string &path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throw sys_error("open `" + path + "`");
    return read_fd(fd.get(), path);
}

const char *file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISLNK(m))
        return "a symlink";
    return S_ISREG(m) ? "a regular file" : "of an unknown type";
}

std::string read_regular_fd(int fd, const std::string &what, size_t max)
{
    struct stat st;
    if (::fstat(fd, &st) < 0)
        throw sys_error("stat `" + what + "`");
    if (!S_ISREG(st.st_mode))
        throw Error("`" + what + "` is not a regular file (it is " + file_kind(st.st_mode) + ")",
                    S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    if (static_cast<uint64_t>(st.st_size) > max)
        throw Error("`" + what + "` is " + std::to_string(st.st_size) + " bytes, more than the " +
                        std::to_string(max) + " allowed",
                    EFBIG);
    return read_fd(fd, what, max);
}

std::string read_regular_file(const std::string &path, size_t max)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd)
        throw sys_error("open `" + path + "`");
    return read_regular_fd(fd.get(), path, max);
}

void require_free_space(int dirfd, const std::string &dir, const std::vector<uint64_t> &file_sizes)
{
    struct statvfs vfs;
    if (::fstatvfs(dirfd, &vfs) < 0)
        throw sys_error("statfs `" + dir + "`");
    uint64_t block = vfs.f_frsize ? vfs.f_frsize : 4096;
    uint64_t need = 0;
    for (uint64_t size : file_sizes)
        need += (size + block - 1) / block * block;
    uint64_t have = static_cast<uint64_t>(vfs.f_bavail) * block;
    if (need > have)
        throw Error("not enough space in `" + dir + "`: need " + std::to_string(need) +
                        " bytes, have " + std::to_string(have),
                    ENOSPC);
}

void write_all(int fd, std::string_view data, const std::string &what)
{
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw sys_error("write `" + what + "`");
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
}

void write_file_atomic(const std::string &path, std::string_view data, unsigned mode)
{
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    std::string tmp = dir + "/." + base + ".XXXXXX";
    std::vector<char> tmpl(tmp.begin(), tmp.end());
    tmpl.push_back('\0');
    UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (!fd)
        throw sys_error("create `" + tmp + "`");
    std::string tmppath(tmpl.data());
    Rollback undo("write `" + path + "`");
    undo.add([&] {
        ::unlink(tmppath.c_str());
        return std::string();
    });
    write_all(fd.get(), data, tmppath);
    if (::fchmod(fd.get(), mode) < 0)
        throw sys_error("chmod `" + tmppath + "`");
    fd.reset();
    if (::rename(tmppath.c_str(), path.c_str()) < 0)
        throw sys_error("rename `" + tmppath + "` to `" + path + "`");
    undo.commit();
}

void mkdir_p(const std::string &path, unsigned mode)
{
    if (path.empty())
        return;
    std::string cur;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        cur = path.substr(0, pos);
        if (cur.empty() || cur == "/")
            continue;
        if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST)
            throw sys_error("mkdir `" + cur + "`");
    }
}

static void remove_at(int dirfd, const char *name, dev_t dev, const std::string &path,
                      CleanupErrors &errors)
{
    struct stat st;
    if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
            errors.add(sys_error("stat `" + path + "`").what());
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
            errors.add(sys_error("unlink `" + path + "`").what());
        return;
    }
    if (st.st_dev != dev) {
        errors.add("`" + path + "` is a mountpoint, not removed");
        return;
    }
    UniqueDir d =
        UniqueDir::adopt(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) {
        errors.add(sys_error("open `" + path + "`").what());
        return;
    }
    std::vector<std::string> names;
    while (const dirent *e = d.next())
        names.emplace_back(e->d_name);
    for (auto &n : names)
        remove_at(d.fd(), n.c_str(), dev, path + "/" + n, errors);
    d = UniqueDir();
    if (::unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        errors.add(sys_error("rmdir `" + path + "`").what());
}

std::string remove_tree(const std::string &path)
{
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0)
        return errno == ENOENT ? "" : sys_error("stat `" + path + "`").what();
    CleanupErrors errors;
    remove_at(AT_FDCWD, path.c_str(), st.st_dev, path, errors);
    return errors.str();
}

bool path_exists(const std::string &path)
{
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

std::string join_path(std::string_view a, std::string_view b)
{
    std::string out(a);
    while (out.size() > 1 && out.back() == '/')
        out.pop_back();
    while (!b.empty() && b.front() == '/')
        b.remove_prefix(1);
    if (b.empty())
        return out;
    if (out != "/")
        out += '/';
    out += b;
    return out;
}

}  // namespace urunc
