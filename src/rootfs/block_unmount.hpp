// Taking a block rootfs away from the host before the VMM gets the device.
//
// Why this is not simply umount(2), and not "make it shared first" (upstream #562/#572):
// * The mount is done by the shim/containerd in the host mount namespace. Upstream
//   unmounted it from the container's namespace, where the copy is a slave (or private):
//   an unmount there never travels back to the host, so the host kept the filesystem
//   mounted while the guest wrote the device -> corruption. We unmount in the namespace
//   that owns the mount: `urunc create` calls this before the container's mount namespace
//   exists (so that namespace never gets a copy at all).
// * Umount propagation follows the peer group of the *parent* mount, fixed when each copy
//   was made. Making the rootfs (or its parent) shared now would not reach copies that
//   other namespaces already hold privately; so we do not change the host's propagation.
//   Copies that are peers or slaves of the parent go away by propagation; others remain
//   and are detected below.
// * No MNT_DETACH: a lazily detached mount that is still in use keeps the superblock alive
//   and can flush writes to the device later, invisible in every mountinfo. A busy mount
//   makes us fail instead (after a few short retries for transient users).
// * Then we verify: the device must not appear in the mountinfo of any mount namespace we
//   can see (/proc/<pid>/mountinfo, one pid per namespace), and an O_EXCL open of the
//   block device must succeed, which the kernel refuses (EBUSY) while any filesystem still
//   holds the device, in any namespace, detached or not. If either check fails we refuse
//   with the places it is still mounted. We do not re-mount on failure: create fails and
//   the shim cleans up its own mount.
//
// Parallel creates: another container's init copies every host mount when it makes its
// mount namespace, and holds those copies until it detaches them in its monitor root. Such
// a copy of our rootfs would fail the check above. Instead of waiting some time for it to
// go, urunc's own processes take MountCopyLock: an init shared from before it copies the
// host's mounts until it has detached them, unmount_for_guest() exclusive around the
// unmount and the check. So no urunc init is ever between copy and detach while a rootfs
// is checked, and a copy found is one someone keeps: refused at once.
#pragma once

#include "base/fd.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace urunc::rootfs {

// What was unmounted, enough to mount it again where it was.
struct UnmountedFs {
    std::string path, device, fstype, data;  // data: the superblock options
    unsigned long flags = 0;                 // MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, ...
};

// Host-wide flock(2) on a file in /run; blocks until granted. Released by release(), by
// destruction, or by the death of the holder. Throws Error naming the file.
class MountCopyLock {
public:
    enum Mode { shared, exclusive };
    explicit MountCopyLock(Mode mode);
    void release() { fd_.reset(); }

    // The lock file (default /run/urunc-mount-copies.lock); unit tests use one of their own.
    static std::string path();
    static void set_path(std::string path);

private:
    UniqueFd fd_;
};

// Unmount the block device filesystem mounted at `path` and make sure nothing still has
// it mounted. `expected_device` (when given) is the device create checked: if `path` now
// leads to another one (a swapped symlink), nothing is unmounted. Throws Error naming the
// path and the device.
UnmountedFs unmount_for_guest(const std::string &path, const std::string &expected_device = "");

// Mount it again (a later step of create failed: the host gets back what it had).
// Returns "" on success, else the error text.
std::string restore_mount(const UnmountedFs &u);

// "pid 123: /mnt/x" for every mount of major:minor in a mount namespace other than ours
// (and "/mnt/x" for ours), scanning /proc/<pid>/mountinfo once per namespace.
std::vector<std::string> mounts_of_device(unsigned major, unsigned minor);

// Whether an O_EXCL open of the block device fails with EBUSY (a filesystem or an
// exclusive user such as device-mapper holds it).
bool block_device_claimed(const std::string &dev_path);

}  // namespace urunc::rootfs
