#include "rootfs/in_root.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "rootfs/mountinfo.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace urunc::rootfs {

namespace {

std::string proc_fd(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// "/a/b/c" -> {"a/b", "c"}; the root itself has no name.
std::pair<std::string, std::string> split_parent(const std::string &path)
{
    std::string norm = normalize_path(path);
    auto slash = norm.rfind('/');
    return {norm.substr(1, slash == 0 ? 0 : slash - 1), norm.substr(slash + 1)};
}

}  // namespace

std::string RootDir::shown(const std::string &path) const
{
    return join_path(shown_, normalize_path(path));
}

int RootDir::dir_fd(const std::string &path, bool create, mode_t mode) const
{
    int cur = fd_.get();
    std::string done;
    for (const auto &name : split(normalize_path(path).substr(1), '/')) {
        if (name.empty())
            continue;
        done += "/" + name;
        if (auto it = dirs_.find(done); it != dirs_.end()) {
            cur = it->second.get();
            continue;
        }
        if (create && ::mkdirat(cur, name.c_str(), mode) < 0 && errno != EEXIST)
            throw sys_error("mkdir `" + shown(done) + "`");
        UniqueFd next(::openat(cur, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next)
            throw sys_error("open `" + shown(done) + "`");
        cur = next.get();
        dirs_.emplace(done, std::move(next));
    }
    return cur;
}

UniqueFd RootDir::walk(const std::string &path, bool create, mode_t mode) const
{
    UniqueFd out(::fcntl(dir_fd(path, create, mode), F_DUPFD_CLOEXEC, 0));
    if (!out)
        throw sys_error("dup `" + shown(path) + "`");
    return out;
}

void RootDir::forget(const std::string &path) const
{
    std::string norm = normalize_path(path);
    if (norm == "/") {
        dirs_.clear();
        return;
    }
    for (auto it = dirs_.lower_bound(norm); it != dirs_.end();) {
        if (it->first != norm && !starts_with(it->first, norm + "/"))
            break;
        it = dirs_.erase(it);
    }
}

UniqueFd RootDir::mkdirs(const std::string &path, mode_t mode) const
{
    return walk(path, true, mode);
}

void RootDir::make_file(const std::string &path, mode_t mode) const
{
    auto [parent, name] = split_parent(path);
    // mknod makes the file without an fd to close: one syscall per bind target instead of
    // two (a VMM's root has some 60). It never follows a symlink at `name`.
    int dir = dir_fd(parent, true, 0755);
    if (::mknodat(dir, name.c_str(), S_IFREG | (mode & 07777), 0) == 0)
        return;
    if (errno != EEXIST)
        throw sys_error("create `" + shown(path) + "`");
    // Kept only if it is a file: a directory or symlink there fails as the open did.
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        throw sys_error("create `" + shown(path) + "`");
    if (S_ISLNK(st.st_mode))
        throw sys_error("create `" + shown(path) + "`", ELOOP);
    if (!S_ISREG(st.st_mode))
        throw sys_error("create `" + shown(path) + "`", S_ISDIR(st.st_mode) ? EISDIR : EEXIST);
}

UniqueFd RootDir::open(const std::string &path, int flags) const
{
    auto [parent, name] = split_parent(path);
    if (name.empty())
        return walk(parent, false, 0);
    UniqueFd fd(::openat(dir_fd(parent, false, 0), name.c_str(),
                         (flags ? flags : O_PATH) | O_NOFOLLOW | O_CLOEXEC));
    if (!fd)
        throw sys_error("open `" + shown(path) + "`");
    return fd;
}

void RootDir::mount(const std::string &source, const std::string &path, const char *fstype,
                    unsigned long flags, const std::string &data) const
{
    UniqueFd target = open(path);
    if (::mount(source.c_str(), proc_fd(target.get()).c_str(), fstype, flags,
                data.empty() ? nullptr : data.c_str()) < 0)
        throw sys_error("mount `" + source + "` on `" + shown(path) + "`");
    forget(path);
}

void RootDir::bind_read_only(const std::string &source, const std::string &path) const
{
    bind(source, path, true);
}

bool RootDir::bind_detached(const std::string &source, const std::string &path,
                            bool read_only) const
{
    // Once the kernel said it has no new mount API, ask no more in this process.
    static bool have_api = true;
    auto [parent, name] = split_parent(path);
    if (!have_api || name.empty())
        return false;
    UniqueFd tree(::open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!tree && errno == ENOSYS)
        return have_api = false;
    if (!tree)
        throw sys_error("mount `" + source + "` on `" + shown(path) + "`");
    // Only these are set; noexec and the atime flags stay as the source has them.
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (read_only ? MOUNT_ATTR_RDONLY : 0);
    if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
        if (errno == ENOSYS)
            return have_api = false;  // 5.2 to 5.11: the detached clone is dropped with its fd
        throw sys_error("set `" + shown(path) + "` " + (read_only ? "read-only," : "") +
                        "nodev,nosuid");
    }
    if (::move_mount(tree.get(), "", dir_fd(parent, false, 0), name.c_str(),
                     MOVE_MOUNT_F_EMPTY_PATH) < 0)
        throw sys_error("mount `" + source + "` on `" + shown(path) + "`");
    forget(path);
    return true;
}

void RootDir::bind(const std::string &source, const std::string &path, bool read_only) const
{
    // A detached clone made read-only before it is attached: three syscalls, and the bind is
    // never visible writable. Kernels before 5.12 take the bind-then-remount below.
    if (bind_detached(source, path, read_only))
        return;
    // Not recursive: a mount below `source` would keep its own (maybe dev, suid) flags.
    mount(source, path, nullptr, MS_BIND, "");
    // Reopen: the old fd names the mountpoint underneath, the remount must reach the bind.
    UniqueFd bound = open(path);
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (read_only ? MS_RDONLY : 0);
    struct statvfs vfs;
    if (::fstatvfs(bound.get(), &vfs) < 0)
        throw sys_error("statfs `" + shown(path) + "`");
    // Flags a remount may not drop when they are locked (e.g. in a user namespace).
    if (vfs.f_flag & ST_NOEXEC)
        flags |= MS_NOEXEC;
    if (vfs.f_flag & ST_NOATIME)
        flags |= MS_NOATIME;
    if (vfs.f_flag & ST_NODIRATIME)
        flags |= MS_NODIRATIME;
    if (vfs.f_flag & ST_RELATIME)
        flags |= MS_RELATIME;
    if (::mount(nullptr, proc_fd(bound.get()).c_str(), nullptr, flags, nullptr) < 0)
        throw sys_error("remount `" + shown(path) + "` " + (read_only ? "read-only," : "") +
                        "nodev,nosuid");
}

void RootDir::copy_device(const std::string &host_dev, const std::string &path) const
{
    struct stat st;
    if (::stat(host_dev.c_str(), &st) < 0)
        throw sys_error("stat device `" + host_dev + "`");
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        throw Error("`" + host_dev + "` is not a device node", ENODEV);
    make_device(path, (st.st_mode & S_IFMT) | (st.st_mode & 0777) | 0666, st.st_rdev, st.st_uid,
                st.st_gid);
}

void RootDir::make_device(const std::string &path, mode_t mode, dev_t rdev, uid_t uid,
                          gid_t gid) const
{
    auto [parent, name] = split_parent(path);
    UniqueFd dir = mkdirs(parent);
    if (::mknodat(dir.get(), name.c_str(), mode, rdev) < 0)
        throw sys_error("mknod `" + shown(path) + "`");
    // mknod is subject to the umask; set the mode exactly, and the owner.
    if (::fchmodat(dir.get(), name.c_str(), mode & 07777, 0) < 0)
        throw sys_error("chmod `" + shown(path) + "`");
    if (::fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        throw sys_error("chown `" + shown(path) + "`");
}

void RootDir::write_file(const std::string &path, const std::string &content, mode_t mode) const
{
    auto [parent, name] = split_parent(path);
    UniqueFd dir = mkdirs(parent);
    UniqueFd f(::openat(dir.get(), name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!f)
        throw sys_error("create `" + shown(path) + "`");
    write_all(f.get(), content, shown(path));
    if (::fchmod(f.get(), mode) < 0)
        throw sys_error("chmod `" + shown(path) + "`");
}

void RootDir::symlink(const std::string &target, const std::string &path) const
{
    auto [parent, name] = split_parent(path);
    // The cached directory fd, not a dup of it: nothing is mounted before it is used.
    if (::symlinkat(target.c_str(), dir_fd(parent, true, 0755), name.c_str()) < 0)
        throw sys_error("symlink `" + shown(path) + "` -> `" + target + "`");
}

}  // namespace urunc::rootfs
