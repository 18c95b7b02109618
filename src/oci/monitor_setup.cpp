#include "oci/monitor_setup.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "rootfs/safe_open.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace urunc::oci {
namespace {

unsigned long propagation_flags(const std::string &p)
{
    if (p.empty() || p == "rslave") return MS_SLAVE | MS_REC;
    if (p == "slave") return MS_SLAVE;
    if (p == "rprivate") return MS_PRIVATE | MS_REC;
    if (p == "private") return MS_PRIVATE;
    // Shared propagation would let the monitor root's mounts leak to the host.
    throw Error("linux.rootfsPropagation `" + p + "` is not supported (use rslave, slave, rprivate or private)");
}

void do_mount(const std::string &src, const std::string &dst, const char *type, unsigned long flags,
              const char *data = nullptr)
{
    if (::mount(src.c_str(), dst.c_str(), type, flags, data) < 0)
        throw sys_error("mount `" + src + "` on `" + dst + "`");
}

void make_mountpoint(const std::string &path, bool dir)
{
    auto slash = path.rfind('/');
    if (slash > 0)
        mkdir_p(path.substr(0, slash), 0755);
    if (dir) {
        if (::mkdir(path.c_str(), 0755) < 0 && errno != EEXIST)
            throw sys_error("mkdir `" + path + "`");
        return;
    }
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        throw sys_error("create `" + path + "`");
    ::close(fd);
}

void bind_ro(const std::string &src, const std::string &dst)
{
    do_mount(src, dst, nullptr, MS_BIND | MS_REC);
    do_mount("none", dst, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV);
}

} // namespace

void prepare_monitor_root(const Launch &l)
{
    do_mount("none", "/", nullptr, propagation_flags(l.spec.rootfs_propagation));
    const std::string &root = l.root_dir;
    make_mountpoint(root, true);
    // A tmpfs: nothing reaches the host's disk and everything vanishes with the namespace.
    do_mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=65536k");

    for (const auto &src : l.host_binds) {
        struct stat st;
        if (::stat(src.c_str(), &st) < 0)
            throw sys_error("stat `" + src + "`");
        std::string dst = root + src;
        make_mountpoint(dst, S_ISDIR(st.st_mode));
        bind_ro(src, dst);
    }
    for (const auto &fb : l.file_binds) {
        UniqueFd dir(::open(fb.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir)
            throw sys_error("open `" + fb.root + "`");
        UniqueFd again = rootfs::open_in_root(dir.get(), fb.path, O_PATH | O_CLOEXEC);
        struct stat a, b;
        if (::fstat(fb.fd, &a) < 0 || ::fstat(again.get(), &b) < 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino)
            throw Error("`" + fb.path + "` in `" + fb.root + "` changed while the container was created");
        std::string dst = root + fb.destination;
        make_mountpoint(dst, false);
        bind_ro("/proc/self/fd/" + std::to_string(again.get()), dst);
    }

    std::string dev = root + "/dev";
    make_mountpoint(dev, true);
    for (const auto &d : l.devices) {
        struct stat st;
        if (::stat(d.c_str(), &st) < 0)
            throw sys_error("stat device `" + d + "`");
        std::string dst = root + d;
        make_mountpoint(dst.substr(0, dst.rfind('/')), true);
        mode_t type = S_ISBLK(st.st_mode) ? S_IFBLK : S_IFCHR;
        if (::mknod(dst.c_str(), type | 0666, st.st_rdev) < 0)
            throw sys_error("mknod `" + dst + "`");
        // mknod honours the umask: the VMM may run as another user.
        if (::chmod(dst.c_str(), 0666) < 0)
            throw sys_error("chmod `" + dst + "`");
    }

    std::string proc = root + "/proc";
    make_mountpoint(proc, true);
    do_mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    std::string tmp = root + "/tmp";
    make_mountpoint(tmp, true);
    do_mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
}

void enter_monitor_root(const Launch &l)
{
    const std::string &root = l.root_dir;
    if (::chdir(root.c_str()) < 0)
        throw sys_error("chdir `" + root + "`");
    // pivot_root(".", ".") stacks the old root under the new one; detach it right away.
    if (::syscall(SYS_pivot_root, ".", ".") < 0)
        throw sys_error("pivot_root `" + root + "`");
    if (::umount2(".", MNT_DETACH) < 0)
        throw sys_error("detach the old root");
    if (::chdir("/") < 0)
        throw sys_error("chdir `/`");
    // The root itself is read-only from here on (/tmp stays writable).
    do_mount("none", "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV);
}

} // namespace urunc::oci
