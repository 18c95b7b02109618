// The snapshot view: a read-only mount of the container's snapshot that a shim passes in
// com.urunc.unikernel.snapshotView, from which the boot artifacts are used in place.
// It is trusted only after every rule below holds; otherwise the error names the rule and
// the path, and nothing is read from some other host path by accident.
#pragma once

#include "base/fd.hpp"
#include "rootfs/block.hpp"
#include "rootfs/mountinfo.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace urunc::rootfs {

struct SnapshotView {
    std::string path;
    UniqueFd dirfd;    // O_PATH|O_DIRECTORY, opened without following any symlink
    dev_t dev = 0;     // st_dev of the view's root
    int mount_id = 0;  // the mount that was checked (mountinfo id)
    std::string fstype;
    std::string source;
};

// Rules, in the order they are checked (each failure is an Error
// "snapshot view `<value>`: <rule>"):
//  1. absolute;
//  2. normalised: no "." or ".." components, no "//", no trailing "/";
//  3. under one of `allowed_prefixes` (component-wise); an empty list allows nothing;
//  4. exists, is a directory, and no component is a symlink (openat2 RESOLVE_NO_SYMLINKS);
//  5. is a mountpoint: the mount the opened directory sits on is mounted exactly there;
//  6. mounted read-only (per-mount or superblock `ro`);
//  7. not the container rootfs itself, and on another filesystem (st_dev) than it.
// `mi` must be loaded after the view was mounted (its mount is looked up by id).
SnapshotView validate_view(const std::string &value, const std::string &rootfs_dir,
                           const std::vector<std::string> &allowed_prefixes, const MountInfo &mi);

// Provenance, for a container rootfs that is a block device (the guest's disk): the view
// must come from the same snapshotter, so an annotation cannot pair the container with some
// other image's (or the host's) filesystem:
//  * rootfs on a loop device: the view is on a loop device too, and both backing files lie
//    in one directory (a blockfile-style snapshotter keeps every snapshot's image file in
//    its `snapshots/` directory); a deleted backing file is refused;
//  * rootfs on device-mapper: the view is a thin device of the same thin pool (read with
//    libdevmapper);
//  * anything else (a view on tmpfs, a loop view for a dm rootfs, ...) is refused.
// Throws Error "snapshot view `<value>`: does not come from the container rootfs's
// snapshotter (...)". `sysfs` is for tests.
void check_view_provenance(const std::string &value, dev_t view_dev, const BlockDevice &rootfs,
                           const std::string &sysfs = "/sys");

}  // namespace urunc::rootfs
