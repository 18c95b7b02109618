#include "rootfs/view.hpp"

#include "base/error.hpp"
#include "base/strings.hpp"
#include "rootfs/devmapper.hpp"
#include "rootfs/safe_open.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <optional>

namespace urunc::rootfs {

namespace {

struct MountId {
    int id = 0;  // 0 when the kernel does not report it (before 5.8)
    dev_t dev = 0;
};

MountId mount_id_of(int dirfd, const char *path, int flags, const std::string &what)
{
    struct statx sx;
    if (::statx(dirfd, path, flags, STATX_MNT_ID | STATX_TYPE, &sx) < 0)
        throw sys_error("stat `" + what + "`");
    MountId m;
    m.id = (sx.stx_mask & STATX_MNT_ID) ? static_cast<int>(sx.stx_mnt_id) : 0;
    m.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    return m;
}

bool under_prefix(const std::string &path, const std::string &prefix)
{
    return prefix == "/" || path == prefix || starts_with(path, prefix + "/");
}

}  // namespace

SnapshotView validate_view(const std::string &value, const std::string &rootfs_dir,
                           const std::vector<std::string> &allowed_prefixes, const MountInfo &mi)
{
    const std::string who = "snapshot view `" + value + "`: ";
    auto fail = [&](const std::string &rule, int err = EINVAL) { return Error(who + rule, err); };

    if (value.empty() || value.front() != '/')
        throw fail("must be an absolute path");
    if (normalize_path(value) != value)
        throw fail("must be a normalised path (no `.` or `..` components, `//` or trailing `/`)");
    // An empty list allows nothing: "anywhere" would let whoever sets an annotation make
    // the VMM read any read-only mount of the host. The caller passes the host config's
    // effective list (its views directory by default); ["/"] is the explicit "anywhere".
    if (allowed_prefixes.empty())
        throw fail("no allowed prefix is configured (snapshot_view.allowed_prefixes)", EPERM);
    {
        std::vector<std::string> shown;
        bool ok = false;
        for (const auto &p : allowed_prefixes) {
            std::string norm = normalize_path(p);
            ok = ok || under_prefix(value, norm);
            shown.push_back("`" + norm + "`");
        }
        if (!ok)
            throw fail("must be under one of the allowed prefixes " + join(shown, ", "), EPERM);
    }

    SnapshotView view;
    view.path = value;
    try {
        view.dirfd = open_no_symlinks(value, O_PATH | O_DIRECTORY);
    } catch (const Error &e) {
        if (e.code() == ENOENT)
            throw fail("does not exist", ENOENT);
        if (e.code() == ENOTDIR)
            throw fail("must be a directory", ENOTDIR);
        if (e.code() == ELOOP) {
            std::string link = first_symlink_component(value);
            throw fail("must not go through a symlink (`" + (link.empty() ? value : link) +
                           "` is one)",
                       ELOOP);
        }
        throw wrap(who.substr(0, who.size() - 2), e);
    }

    // The mount is identified from the fd we hold, not from the path string, so the
    // checks below are about the very directory the artifacts will be opened from.
    MountId mine = mount_id_of(view.dirfd.get(), "", AT_EMPTY_PATH, value);
    const MountEntry *m = mine.id ? mi.find_by_id(mine.id) : mi.find_mount(value);
    if (mine.id && !m)
        throw fail("its mount (id " + std::to_string(mine.id) +
                       ") is not in the mount table; was "
                       "it mounted after the table was read?",
                   ESTALE);
    if (!m || m->mountpoint != value)
        throw fail("must be a mountpoint (the shim mounts the view there)", EINVAL);
    if (!m->read_only())
        throw fail("must be mounted read-only (mount options `" + m->options + "`, filesystem `" +
                       m->super_options + "`)",
                   EROFS);

    if (rootfs_dir.empty())
        throw fail("the container rootfs path is empty, so the view cannot be checked against it");
    MountId rootfs = mount_id_of(AT_FDCWD, rootfs_dir.c_str(), 0, rootfs_dir);
    if (normalize_path(rootfs_dir) == value || (mine.id && mine.id == rootfs.id))
        throw fail("must not be the container rootfs `" + rootfs_dir + "` itself", EINVAL);
    if (mine.dev == rootfs.dev)
        throw fail("must be on another filesystem than the container rootfs `" + rootfs_dir +
                       "` (both are on device " + std::to_string(major(mine.dev)) + ":" +
                       std::to_string(minor(mine.dev)) + ")",
                   EINVAL);

    view.dev = mine.dev;
    view.mount_id = m->id;
    view.fstype = m->fstype;
    view.source = m->source;
    return view;
}

namespace {

std::string dirname_of(const std::string &p)
{
    auto slash = p.rfind('/');
    return slash == std::string::npos || slash == 0 ? "/" : p.substr(0, slash);
}

// The thin pool (its major:minor) a thin device maps onto, or nullopt when it is not one.
std::optional<std::pair<unsigned, unsigned>> thin_pool_of(unsigned major, unsigned minor)
{
    std::vector<DmDevice> lineage = dm_lineage(major, minor);
    if (lineage.empty() || std::find(lineage[0].targets.begin(), lineage[0].targets.end(),
                                     "thin") == lineage[0].targets.end())
        return std::nullopt;
    for (const auto &d : lineage)
        if (std::find(d.targets.begin(), d.targets.end(), "thin-pool") != d.targets.end())
            return std::make_pair(d.major, d.minor);
    return std::nullopt;
}

std::string devno_text(unsigned major, unsigned minor)
{
    return std::to_string(major) + ":" + std::to_string(minor);
}

}  // namespace

void check_view_provenance(const std::string &value, dev_t view_dev, const BlockDevice &rootfs,
                           const std::string &sysfs)
{
    BlockDevice view;
    view.major = major(view_dev);
    view.minor = minor(view_dev);
    describe_from_sysfs(view, sysfs);
    auto refuse = [&](const std::string &why) {
        return Error("snapshot view `" + value +
                         "`: does not come from the container rootfs's snapshotter (" + why + ")",
                     EPERM);
    };
    const std::string vdev = "device " + devno_text(view.major, view.minor);
    switch (rootfs.kind) {
    case BlockKind::loop: {
        if (view.kind != BlockKind::loop)
            throw refuse("the rootfs `" + rootfs.path + "` is a loop device, the view's " + vdev +
                         " is not");
        const std::string &rb = rootfs.loop_backing_file;
        const std::string &vb = view.loop_backing_file;
        for (const std::string *b : {&rb, &vb})
            if (b->empty() || b->front() != '/' || b->find(" (deleted)") != std::string::npos)
                throw refuse("loop backing file `" + *b + "` is not a file that exists");
        if (dirname_of(rb) != dirname_of(vb))
            throw refuse("the view's loop " + vdev + " is backed by `" + vb + "`, not in `" +
                         dirname_of(rb) + "` with the rootfs's `" + rb + "`");
        return;
    }
    case BlockKind::device_mapper: {
        if (view.kind != BlockKind::device_mapper)
            throw refuse("the rootfs `" + rootfs.path + "` is a device-mapper device, the view's " +
                         vdev + " is not");
        auto rpool = thin_pool_of(rootfs.major, rootfs.minor);
        auto vpool = thin_pool_of(view.major, view.minor);
        if (!rpool || !vpool || *rpool != *vpool)
            throw refuse("the view's " + vdev + " (`" + view.dm_name +
                         "`) is not a thin device of the pool of `" + rootfs.path + "`");
        return;
    }
    case BlockKind::other:
        throw refuse("the rootfs `" + rootfs.path +
                     "` is neither a loop nor a device-mapper device, so the "
                     "view's origin cannot be checked");
    }
}

}  // namespace urunc::rootfs
