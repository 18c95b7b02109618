// The minimal root the VMM runs in. It is assembled on a tmpfs mounted over `root_dir`
// inside the container's fresh mount namespace, so nothing is written to the host disk
// and everything disappears with the namespace; then the process pivots into it.
#pragma once

#include "rootfs/in_root.hpp"

#include <sys/mount.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace urunc::rootfs {

struct FileBind {
    std::string source;       // host path, or /proc/self/fd/N of an O_PATH fd (a view artifact)
    std::string destination;  // absolute path inside the root
    bool writable =
        false;  // block images and shared directories the guest writes (all nodev, nosuid)
    bool directory = false;  // a directory (9pfs share) rather than a file
};

struct FileContent {
    std::string path;  // absolute path inside the root
    std::string content;
    mode_t mode = 0644;
};

// A device node made in the root (linux.devices): not a copy of a host node.
struct DeviceNode {
    std::string path;  // absolute, under /dev
    mode_t mode = 0;   // S_IFCHR, S_IFBLK or S_IFIFO | permissions
    dev_t rdev = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};

struct MonitorRootRequest {
    std::string root_dir;  // an existing (empty) host directory, e.g. <state>/<id>/root
    // Applied to "/" first so nothing mounted here propagates back to the host.
    unsigned long root_propagation = MS_SLAVE | MS_REC;
    // Host paths bound read-only at the same path; they must exist (the VMM binary, QEMU's
    // accelerator modules). A symlink is replicated and its target bound.
    std::vector<std::string> binds;
    // Shared libraries (elf_libs.hpp), bound read-only at the same path through their
    // symlinks: a soname link (libz.so.1 -> libz.so.1.2.13) becomes a file with the library
    // bound on it. The loader opens the soname, which is all it needs; one bind per library
    // instead of a link and a bind, and no lstat or readlink to decide them (a VMM has some
    // fifty). A path also in `binds` is bound once, as a bind; a missing one fails the bind.
    std::vector<std::string> libraries;
    // Data directories (/usr/share/qemu, /usr/share/seabios), skipped when missing. Their
    // entries that are symlinks leading out of the directory get their target bound too
    // (one level: OVMF.fd -> ../ovmf/OVMF.fd).
    std::vector<std::string> data_dirs;
    // Host paths that are symlinks (/lib -> usr/lib on a merged-/usr host), made the same
    // symlinks in the root without binding anything behind them; skipped when not symlinks.
    std::vector<std::string> links;
    std::vector<FileBind> file_binds;  // read-only unless marked writable
    std::vector<FileContent> files;
    // Host device nodes re-created at the same path (under /dev) with mode |= 0666:
    // /dev/null, /dev/urandom, /dev/kvm, /dev/net/tun, the guest's block devices.
    std::vector<std::string> devices;
    std::vector<DeviceNode> nodes;
    // As runc: a masked file gets /dev/null bound over it, a masked directory an empty
    // read-only tmpfs; a read-only path is bound read-only onto itself. Paths missing in the
    // root are skipped. /proc/sys is always read-only.
    std::vector<std::string> masked_paths, readonly_paths;
    bool proc = true;                 // proc at /proc
    std::string dev_size = "65536k";  // tmpfs /dev (mode 755)
    std::string tmp_size = "65536k";  // tmpfs /tmp (mode 1777, nosuid, nodev)
    std::string root_size = "8m";     // the root tmpfs itself: mountpoints and `files`
    bool read_only_root = true;       // remount the root tmpfs read-only when done
    bool read_only_dev = true;        // and /dev, so no node can be made there afterwards
    // tmpfs /run (mode 755, nosuid, nodev, noexec) when set: root's writable place (a
    // virtiofsd's pid file and socket), which the VMM's user cannot write.
    std::string run_size;
};

// The tree, built in two parts. Call in a fresh private mount namespace (after
// unshare(CLONE_NEWNS)). A path that is a symlink on the host (/lib -> usr/lib) becomes the
// same symlink in the root, and its target (one level) is bound instead. Errors are prefixed
// "monitor root: ".
// The constructor checks every path, then mounts the tmpfs, /proc, /dev, /tmp, /run, binds
// the host paths and files, and applies maskedPaths and readonlyPaths outside /dev: the
// mounts, most of the time, none of which a cgroup limits. finish() makes the device nodes
// (a devices cgroup rules mknod, so the container's init runs it once it is in its
// cgroups), masks under /dev, writes the files and links, and makes the root and /dev
// read-only.
class MonitorRootBuild {
public:
    explicit MonitorRootBuild(MonitorRootRequest req);
    void finish();

private:
    MonitorRootRequest req_;
    std::vector<std::pair<std::string, std::string>> links_;  // path in root -> link text
    RootDir root_;
};

// Both parts at once.
void build_monitor_root(const MonitorRootRequest &req);

// Make `dir` the root: pivot_root(".", "."), detach the old root (made rslave first so the
// detach does not propagate), chdir("/").
void enter_monitor_root(const std::string &dir);

}  // namespace urunc::rootfs
