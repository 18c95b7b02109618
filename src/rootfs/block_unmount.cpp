#include "rootfs/block_unmount.hpp"

#include "base/dir.hpp"
#include "base/error.hpp"
#include "base/lock.hpp"
#include "base/fd.hpp"
#include "base/strings.hpp"
#include "rootfs/block.hpp"
#include "rootfs/mountinfo.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <memory>
#include <set>

namespace urunc::rootfs {

namespace {

std::string mount_ns_of(const std::string &pid)
{
    char buf[64];
    ssize_t n = ::readlink(("/proc/" + pid + "/ns/mnt").c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

void add_matches(const MountInfo &mi, unsigned major, unsigned minor, const std::string &prefix,
                 std::vector<std::string> &out)
{
    for (const auto &e : mi.entries()) {
        if (e.major == major && e.minor == minor)
            out.push_back(prefix + e.mountpoint);
    }
}

std::string &lock_path()
{
    static std::string path = "/run/urunc-mount-copies.lock";
    return path;
}

}  // namespace

std::string MountCopyLock::path() { return lock_path(); }
void MountCopyLock::set_path(std::string path) { lock_path() = std::move(path); }

MountCopyLock::MountCopyLock(Mode mode)
{
    const std::string &p = lock_path();
    fd_.reset(::open(p.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd_)
        throw sys_error("open the mount copy lock `" + p + "`");
    lock_fd(fd_.get(), mode == shared ? LockMode::shared : LockMode::exclusive, p);
}

std::vector<std::string> mounts_of_device(unsigned major, unsigned minor)
{
    std::vector<std::string> out;
    std::set<std::string> seen{mount_ns_of("self")};
    add_matches(MountInfo::load("/proc/self/mountinfo"), major, minor, "", out);
    UniqueDir proc = UniqueDir::open("/proc");
    if (!proc)
        throw sys_error("open `/proc`");
    while (const dirent *e = proc.next()) {
        std::string pid = e->d_name;
        if (pid.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::string ns = mount_ns_of(pid);
        if (ns.empty() || !seen.insert(ns).second)
            continue;
        try {
            add_matches(MountInfo::load("/proc/" + pid + "/mountinfo"), major, minor,
                        "pid " + pid + ": ", out);
        } catch (const Error &) {
            // The process exited meanwhile; its namespace may live on in another pid,
            // which is why `seen` is only filled for namespaces actually read.
            seen.erase(ns);
        }
    }
    return out;
}

bool block_device_claimed(const std::string &dev_path)
{
    // O_EXCL without O_CREAT on a block device: fails with EBUSY while the device is
    // claimed (mounted anywhere, even lazily detached, or used by device-mapper).
    UniqueFd fd(::open(dev_path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
    if (fd)
        return false;
    if (errno == EBUSY)
        return true;
    throw sys_error("open `" + dev_path + "` exclusively");
}

UnmountedFs unmount_for_guest(const std::string &path, const std::string &expected_device)
{
    const std::string ctx = "unmount `" + path + "` for the guest";
    std::string why;
    MountInfo mi = MountInfo::load();
    auto dev = block_device_for(path, mi, &why);
    if (!dev)
        throw Error(ctx + ": " + why, EINVAL);
    if (!expected_device.empty() && dev->path != expected_device)
        throw Error(ctx + ": it is now `" + dev->path + "`, not `" + expected_device +
                        "` as checked before (the path changed); nothing unmounted",
                    ESTALE);
    std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
    if (!real)
        throw sys_error(ctx + ": resolve");
    UnmountedFs out{real.get(), dev->path, dev->fstype, "", 0};
    if (const MountEntry *m = mi.find_mount(real.get())) {
        const std::pair<const char *, unsigned long> vfs[] = {
            {"ro", MS_RDONLY},        {"nosuid", MS_NOSUID},   {"nodev", MS_NODEV},
            {"noexec", MS_NOEXEC},    {"noatime", MS_NOATIME}, {"nodiratime", MS_NODIRATIME},
            {"relatime", MS_RELATIME}};
        for (const auto &[name, flag] : vfs)
            if (has_option(m->options, name))
                out.flags |= flag;
        std::vector<std::string> data;
        for (const auto &o : split(m->super_options, ','))
            if (o != "rw" && o != "ro")
                data.push_back(o);
        out.data = join(data, ",");
    }

    // No urunc init holds a copy of the host's mounts from here until the check is done.
    MountCopyLock no_init_copying(MountCopyLock::exclusive);

    // EBUSY can be transient (udev/blkid probing right after the mount); give it a moment,
    // but never fall back to a lazy unmount.
    for (int attempt = 0;; ++attempt) {
        if (::umount2(real.get(), UMOUNT_NOFOLLOW) == 0)
            break;
        int err = errno;
        if (err != EBUSY)
            throw sys_error(ctx, err);
        if (attempt == 4)
            throw sys_error(ctx +
                                " (a process still uses it; it is not detached lazily, or the host "
                                "could go on writing to `" +
                                dev->path + "`)",
                            err);
        struct timespec ts = {0, 20 * 1000 * 1000};
        ::nanosleep(&ts, nullptr);
    }

    // Whatever still has the device now keeps it: a copy in a namespace that is not a
    // urunc init in transit (those are excluded by the lock), or a lazily detached mount.
    auto left = mounts_of_device(dev->major, dev->minor);
    if (!left.empty())
        throw Error(ctx + ": `" + dev->path + "` is still mounted elsewhere (" + join(left, ", ") +
                        "); refusing to hand it to the guest",
                    EBUSY);
    if (block_device_claimed(dev->path))
        throw Error(
            ctx + ": `" + dev->path +
                "` is still in use (a lazily detached mount, a mount "
                "namespace not visible here, or device-mapper); refusing to hand it to the guest",
            EBUSY);
    return out;
}

std::string restore_mount(const UnmountedFs &u)
{
    if (::mount(u.device.c_str(), u.path.c_str(), u.fstype.c_str(), u.flags,
                u.data.empty() ? nullptr : u.data.c_str()) < 0)
        return sys_error("mount `" + u.device + "` on `" + u.path + "` again").what();
    return "";
}

}  // namespace urunc::rootfs
