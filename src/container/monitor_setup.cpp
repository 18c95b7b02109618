#include "container/monitor_setup.hpp"

#include "base/error.hpp"
#include "rootfs/monitor_root.hpp"
#include "rootfs/safe_open.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace urunc::container {
namespace {

unsigned long propagation_flags(const std::string &p)
{
    if (p.empty() || p == "rslave")
        return MS_SLAVE | MS_REC;
    if (p == "slave")
        return MS_SLAVE;
    if (p == "rprivate")
        return MS_PRIVATE | MS_REC;
    if (p == "private")
        return MS_PRIVATE;
    // Shared propagation would let the monitor root's mounts leak to the host.
    throw Error("linux.rootfsPropagation `" + p +
                "` is not supported (use rslave, slave, rprivate or private)");
}

}  // namespace

rootfs::MonitorRootBuild begin_monitor_root(const Launch &l)
{
    rootfs::MonitorRootRequest req = l.root;
    req.root_propagation = propagation_flags(l.spec.rootfs_propagation);
    for (const auto &d : l.spec.devices) {
        mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
        req.nodes.push_back(
            {d.path, type | (d.file_mode & 0777),
             makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor)), d.uid,
             d.gid});
    }
    req.masked_paths = l.spec.masked_paths;
    req.readonly_paths = l.spec.readonly_paths;
    // Artifacts are resolved again here: a mount can only be bound from the caller's own
    // mount namespace, and this one is a copy of create's. Same inode, or refuse.
    std::vector<UniqueFd> again;
    for (const auto &fb : l.file_binds) {
        UniqueFd dir(::open(fb.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir)
            throw sys_error("open `" + fb.root + "`");
        UniqueFd fd = rootfs::open_in_root(dir.get(), fb.path, O_PATH | O_CLOEXEC);
        struct stat a, b;
        if (::fstat(fb.fd.get(), &a) < 0 || ::fstat(fd.get(), &b) < 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino)
            throw Error("`" + fb.path + "` in `" + fb.root +
                        "` changed while the container was created");
        req.file_binds.push_back(
            {"/proc/self/fd/" + std::to_string(fd.get()), fb.destination, fb.writable, false});
        again.push_back(std::move(fd));
    }
    for (const auto &db : l.shared_binds) {
        UniqueFd fd = rootfs::reopen_same(db.source, db.fd.get(), O_DIRECTORY);
        req.file_binds.push_back(
            {"/proc/self/fd/" + std::to_string(fd.get()), db.destination, !db.readonly, true});
        again.push_back(std::move(fd));
    }
    // Guest files (e.g. urunit.conf) go in now: the root is read-only once entered. Files
    // under /tmp (the VMM's own config) are written at start, when the network is known.
    for (const auto &[path, content] : l.command.files)
        if (path.rfind("/tmp/", 0) != 0)
            req.files.push_back({path, content, 0644});
    return rootfs::MonitorRootBuild(std::move(req));
}

void enter_monitor_root(const Launch &l) { rootfs::enter_monitor_root(l.root.root_dir); }

}  // namespace urunc::container
