// Primitives for building a directory tree beneath a root fd that we own (the monitor
// root): every path is relative to the root, no symlink is ever followed on the way, and
// mounts are done through /proc/self/fd/N of an O_PATH fd, so a symlink planted in the
// tree can never redirect a mount onto the host. Errors carry errno and the full path.
#pragma once

#include "base/fd.hpp"

#include <sys/types.h>

#include <map>
#include <string>

namespace urunc::rootfs {

class RootDir {
public:
    // `shown` is the host path of the root, only for messages.
    RootDir(UniqueFd fd, std::string shown) : fd_(std::move(fd)), shown_(std::move(shown)) {}

    int fd() const { return fd_.get(); }
    std::string shown(const std::string &path) const;  // "<root>/<path>" for messages

    // mkdir -p of an absolute (root-relative) path; returns an O_PATH fd on it.
    UniqueFd mkdirs(const std::string &path, mode_t mode = 0755) const;
    // An empty regular file (and its parents), to bind a file onto; existing files are kept.
    void make_file(const std::string &path, mode_t mode = 0644) const;
    // Open an existing path without following symlinks (O_PATH unless flags say otherwise).
    UniqueFd open(const std::string &path, int flags = 0) const;

    // mount(2) of `source` onto `path` inside the root.
    void mount(const std::string &source, const std::string &path, const char *fstype,
               unsigned long flags, const std::string &data) const;
    // Bind `source` (a host path or /proc/self/fd/N) onto `path`, then make that bind
    // read-only, nosuid and nodev (keeping the source's noexec/atime flags).
    void bind_read_only(const std::string &source, const std::string &path) const;
    // Bind `source` at `path`, always nodev and nosuid (device nodes and setuid files of an
    // image never work through it), read-only when asked.
    void bind(const std::string &source, const std::string &path, bool read_only) const;
    // A device node at `path` with the type and major:minor of `host_dev`, mode |= 0666
    // and the host's owner, so a VMM running as the container user can use it.
    void copy_device(const std::string &host_dev, const std::string &path) const;
    // A node of exactly this type, mode, number and owner at `path`.
    void make_device(const std::string &path, mode_t mode, dev_t rdev, uid_t uid, gid_t gid) const;
    void write_file(const std::string &path, const std::string &content, mode_t mode) const;
    void symlink(const std::string &target, const std::string &path) const;

private:
    // Open each component with O_NOFOLLOW (creating it first when asked). Directories
    // already walked to are reused: a monitor root binds some 60 files into a handful of
    // directories, and walking each path again cost ~50 syscalls per file.
    // The fd is borrowed from that cache: valid until the next mount (forget).
    int dir_fd(const std::string &path, bool create, mode_t mode) const;
    UniqueFd walk(const std::string &path, bool create, mode_t mode) const;  // a dup of it
    // bind() through open_tree + mount_setattr + move_mount (not recursive, like MS_BIND);
    // false when the kernel lacks that API (the caller binds the old way).
    bool bind_detached(const std::string &source, const std::string &path, bool read_only) const;
    // A mount at `path` hides the directories below it: walk to them again.
    void forget(const std::string &path) const;

    UniqueFd fd_;
    std::string shown_;
    mutable std::map<std::string, UniqueFd> dirs_;  // root-relative path -> O_PATH fd
};

}  // namespace urunc::rootfs
