// Which rootfs the guest gets, and where the boot artifacts come from. First match wins:
//   initrd annotation > explicit block image at "/" > (mountRootfs) the container rootfs
//   as a block device > 9pfs share > none.
// Artifacts come from the snapshot view when the annotation names one (validated before
// anything is touched), else from the container rootfs; a block rootfs without a view
// falls back to a copy under the state dir, because its filesystem leaves the host before
// the VMM writes the device.
#include "container/guest_rootfs.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "rootfs/artifacts.hpp"
#include "rootfs/block.hpp"
#include "rootfs/mountinfo.hpp"
#include "rootfs/safe_open.hpp"
#include "rootfs/view.hpp"

#include <fcntl.h>
#include <cstdlib>
#include <memory>
#include <algorithm>
#include <sys/stat.h>
#include <unistd.h>

namespace urunc::oci {
namespace {

using unikernels::RootfsKind;

// Keep an artifact's fd alive in the Launch and bind it at `dest` in the monitor root.
void bind_artifact(Launch &l, rootfs::Artifact &a, const std::string &root, const std::string &dest)
{
    l.file_binds.push_back({a.fd.get(), root, a.relpath, dest});
    l.fds.push_back(std::move(a.fd));
}

// The block image of the `block` annotation (a file inside the container rootfs), bound
// at `dest`, read-write unless the guest may not write it (root.readonly).
void bind_block_image(Launch &l, const std::string &rootfs_dir, const std::string &image, const std::string &dest,
                      bool writable)
{
    UniqueFd rootfd(::open(rootfs_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfd)
        throw sys_error("open rootfs `" + rootfs_dir + "`");
    rootfs::BootArtifacts img = rootfs::open_artifacts(rootfd.get(), {image, "", ""});
    if (writable)
        l.writable_binds.push_back(l.file_binds.size());
    bind_artifact(l, img.kernel, rootfs_dir, dest);
}

// Is `path` inside the bundle (the directory that holds the rootfs)? Resolved, so a
// symlink cannot make a host path look like the bundle's.
bool owned_by_container(const std::string &path, const std::string &rootfs_dir)
{
    std::unique_ptr<char, decltype(&std::free)> p(::realpath(path.c_str(), nullptr), &std::free);
    std::unique_ptr<char, decltype(&std::free)> r(::realpath(rootfs_dir.c_str(), nullptr), &std::free);
    if (!p || !r)
        return false;
    std::string bundle(r.get());
    bundle = bundle.substr(0, bundle.rfind('/'));
    std::string real(p.get());
    return !bundle.empty() && real.size() > bundle.size() && real.compare(0, bundle.size(), bundle) == 0 &&
           real[bundle.size()] == '/';
}

} // namespace

void choose_guest_rootfs(Launch &l, const std::string &state_dir)
{
    const Spec &s = l.spec;
    const UnikernelConfig &c = l.config;
    const std::string rootfs_dir = s.root_path;
    const bool mount_rootfs = c.mount_rootfs.value_or(false);

    // 1. The artifact source. A view is untrusted input: validated before any use.
    std::optional<rootfs::MountInfo> mi;
    auto mountinfo = [&]() -> const rootfs::MountInfo & {
        if (!mi)
            mi = rootfs::MountInfo::load();
        return *mi;
    };
    std::string art_root = rootfs_dir;
    UniqueFd art_fd;
    dev_t view_dev = 0;
    if (!c.snapshot_view.empty()) {
        rootfs::SnapshotView v = rootfs::validate_view(c.snapshot_view, rootfs_dir,
                                                       l.host.snapshot_view.effective_prefixes(), mountinfo());
        view_dev = v.dev;
        art_root = v.path;
        art_fd = std::move(v.dirfd);
        l.artifact_source = "view " + art_root;
    } else {
        // O_NOFOLLOW: create refused a rootfs that is a symlink; one swapped in since fails.
        art_fd = UniqueFd(::open(rootfs_dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!art_fd)
            throw sys_error("open rootfs `" + rootfs_dir + "`");
        l.artifact_source = "rootfs " + art_root;
    }
    rootfs::BootArtifacts arts = rootfs::open_artifacts(art_fd.get(), {c.binary, c.initrd, ""});

    // 2. The guest rootfs.
    std::optional<rootfs::BlockDevice> dev;
    std::string why_not_block;
    l.params.readonly_rootfs = s.root_readonly;
    if (!c.initrd.empty()) {
        l.params.rootfs = RootfsKind::initrd;
        l.rootfs_choice = "initrd: the initrd annotation is set";
    } else if (!c.block.empty() && c.blk_mount_point == "/" && l.guest->supports_block()) {
        std::string dest = std::string(kArtifactDir) + "/block";
        bind_block_image(l, rootfs_dir, c.block, dest, !s.root_readonly);
        l.params.rootfs = RootfsKind::block;
        l.params.blocks.push_back({"rootfs", dest, "/", "", s.root_readonly});
        l.rootfs_choice = "block: the image `" + c.block + "` of the block annotation, mounted at /";
    } else if (mount_rootfs && l.guest->supports_block() &&
               (dev = rootfs::block_device_for(rootfs_dir, mountinfo(), &why_not_block)) &&
               l.guest->supports_fs(dev->fstype)) {
        // The guest gets this device: a view from elsewhere would pair it with files that
        // are not its image's.
        if (!c.snapshot_view.empty())
            rootfs::check_view_provenance(c.snapshot_view, view_dev, *dev);
        l.params.rootfs = RootfsKind::block;
        l.params.blocks.push_back({"rootfs", dev->path, l.guest->name() == "rumprun" ? "/data" : "/",
                                   dev->fstype, s.root_readonly});
        l.devices.push_back(dev->path);
        l.unmounts.push_back({rootfs_dir, dev->path});
        l.rootfs_choice = "block: the container rootfs is " + dev->fstype + " on " + dev->path;
        if (c.snapshot_view.empty()) {
            // No view: the artifacts must leave the filesystem before it leaves the host.
            l.copy_dir = state_dir + "/artifacts";
            rootfs::CopiedArtifacts copy = rootfs::copy_artifacts(arts, l.copy_dir);
            copy.release();  // delete removes it with the state dir
            art_root = l.copy_dir;
            art_fd = UniqueFd(::open(art_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!art_fd)
                throw sys_error("open `" + art_root + "`");
            arts = rootfs::open_artifacts(art_fd.get(), {c.binary, c.initrd, ""});
            l.artifact_source = "copy " + art_root;
            log::warn("container rootfs is a block device and no snapshot view was given: boot "
                      "artifacts copied to `{}` ({} bytes)", art_root, arts.total_size());
        }
    } else if (mount_rootfs && l.guest->supports_fs("9pfs") && l.vmm->supports_shared_fs("9p")) {
        l.params.rootfs = RootfsKind::ninep;
        l.exec.shared_fs = "9p";
        l.exec.shared_path = "/cntrRootfs";
        l.exec.shared_readonly = s.root_readonly;
        // The directory checked now is the one shared: the init binds it only if the path
        // still leads to this inode.
        UniqueFd share(::open(rootfs_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!share)
            throw sys_error("open rootfs `" + rootfs_dir + "`");
        l.shared_binds.push_back({rootfs_dir, l.exec.shared_path, s.root_readonly, share.get()});
        l.fds.push_back(std::move(share));
        l.rootfs_choice = "9pfs: the container rootfs is shared with the guest" +
                          (why_not_block.empty() ? std::string() : " (not a block device: " + why_not_block + ")");
    } else if (mount_rootfs) {
        throw Error("annotation `com.urunc.unikernel.mountRootfs`: the container rootfs `" + rootfs_dir +
                    "` can be given to a " + std::string(l.guest->name()) + " guest on " +
                    std::string(l.vmm->name()) + " neither as a block device" +
                    (why_not_block.empty() ? std::string() : " (" + why_not_block + ")") +
                    " nor as a shared filesystem");
    } else {
        l.params.rootfs = RootfsKind::none;
        l.rootfs_choice = "none: no initrd, block image or mountRootfs requested";
    }

    // Volumes: a bind mount whose source is itself a block device mount becomes an extra
    // disk (upstream getBlockVolumes, there only beside a block rootfs; here for any guest
    // that takes disks, e.g. a Linux guest booting an initrd); an explicit block image
    // mounted elsewhere than "/" is an extra disk of any guest that takes disks.
    if (l.guest->supports_block()) {
        for (size_t i = 0; i < s.mounts.size(); ++i) {
            const Mount &m = s.mounts[i];
            if (m.type != "bind" && std::find(m.options.begin(), m.options.end(), "bind") == m.options.end() &&
                std::find(m.options.begin(), m.options.end(), "rbind") == m.options.end())
                continue;
            if (m.source.empty() || m.source[0] != '/')
                continue;
            std::string why;
            auto vol = rootfs::block_device_for(m.source, mountinfo(), &why);
            if (!vol || !l.guest->supports_fs(vol->fstype))
                continue;
            // Its filesystem leaves the host: only a mount made for this container (inside
            // its bundle, next to the rootfs) may go. A host mount such as /mnt/data stays
            // the host's, and the guest does not get it.
            if (!owned_by_container(m.source, rootfs_dir)) {
                log::warn("volume `{}`: `{}` ({} on {}) is a host mount outside the bundle: it stays "
                          "mounted on the host and the guest does not get it as a disk",
                          m.destination, m.source, vol->fstype, vol->path);
                continue;
            }
            // A `ro` volume is a read-only disk for the guest (or refused by a VMM that has none).
            const bool ro = std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
            l.params.blocks.push_back({"vol" + std::to_string(i), vol->path, m.destination, vol->fstype, ro});
            l.devices.push_back(vol->path);
            l.unmounts.push_back({m.source, vol->path});
            log::info("volume `{}` ({} on {}) becomes guest disk vol{}{}", m.destination, vol->fstype,
                      vol->path, i, ro ? ", read-only" : "");
            l.rootfs_choice += fmt::format("; volume {}: {} on {} as disk vol{}{}", m.destination,
                                           vol->fstype, vol->path, i, ro ? " (read-only)" : "");
        }
    }
    if (!c.block.empty() && c.blk_mount_point != "/" && l.guest->supports_block()) {
        std::string dest = std::string(kArtifactDir) + "/annot_vol";
        bind_block_image(l, rootfs_dir, c.block, dest, true);
        l.params.blocks.push_back({"annot_vol", dest, c.blk_mount_point, ""});
    }

    // 3. The artifacts, bound read-only into the monitor root: zero bytes copied.
    l.exec.kernel = std::string(kArtifactDir) + "/kernel";
    bind_artifact(l, arts.kernel, art_root, l.exec.kernel);
    if (arts.initrd) {
        l.exec.initrd = std::string(kArtifactDir) + "/initrd";
        bind_artifact(l, *arts.initrd, art_root, l.exec.initrd);
    }
    l.fds.push_back(std::move(art_fd));
}

} // namespace urunc::oci
