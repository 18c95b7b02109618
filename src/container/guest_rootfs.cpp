// Which rootfs the guest gets, and where the boot artifacts come from. First match wins:
//   initrd annotation > explicit block image at "/" > (mountRootfs) the container rootfs
//   as a block device > 9pfs share > none. The share is virtiofs instead of 9p when the
//   host config names a virtiofsd ([extra_binaries.virtiofsd], the opt-in) and guest and
//   VMM take virtiofs (Linux on QEMU); the init starts virtiofsd.
// One exception to "initrd wins": a guest whose initrd can be early userspace (Linux) with
// mountRootfs, no block image at "/", a container rootfs that is not a block device it
// takes, and a 9p share possible, gets both: the initrd boots first and the share is root.
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
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace urunc::container {
using oci::Mount;
using oci::Spec;
using oci::UnikernelConfig;

namespace {

using unikernels::RootfsKind;

// Keep an artifact's fd alive in the Launch and bind it at `dest` in the monitor root.
void bind_artifact(Launch &l, rootfs::Artifact &a, const std::string &root, const std::string &dest,
                   bool writable = false)
{
    l.file_binds.push_back({std::move(a.fd), root, a.relpath, dest, writable});
}

// The block image of the `block` annotation (a file inside the container rootfs), bound
// at `dest`, read-write unless the guest may not write it (root.readonly).
void bind_block_image(Launch &l, const std::string &rootfs_dir, const std::string &image,
                      const std::string &dest, bool writable)
{
    UniqueFd rootfd(::open(rootfs_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfd)
        throw sys_error("open rootfs `" + rootfs_dir + "`");
    rootfs::BootArtifacts img = rootfs::open_artifacts(rootfd.get(), {image, "", ""});
    bind_artifact(l, img.kernel, rootfs_dir, dest, writable);
}

// Is `path` inside the bundle (the directory that holds the rootfs)? Resolved, so a
// symlink cannot make a host path look like the bundle's.
bool owned_by_container(const std::string &path, const std::string &rootfs_dir)
{
    std::unique_ptr<char, decltype(&std::free)> p(::realpath(path.c_str(), nullptr), &std::free);
    std::unique_ptr<char, decltype(&std::free)> r(::realpath(rootfs_dir.c_str(), nullptr),
                                                  &std::free);
    if (!p || !r)
        return false;
    std::string bundle(r.get());
    bundle = bundle.substr(0, bundle.rfind('/'));
    std::string real(p.get());
    return !bundle.empty() && real.size() > bundle.size() &&
           real.compare(0, bundle.size(), bundle) == 0 && real[bundle.size()] == '/';
}

// Where the boot artifacts are read from, and the artifacts opened there.
struct ArtifactSource {
    std::string root;
    UniqueFd fd;
    dev_t view_dev = 0;  // the view's device, when there is a view
    rootfs::BootArtifacts arts;
};

// 1. The artifact source: the view when the config names one (untrusted input, validated
// before any use; `view` when detect_unikernel validated it already), else the container
// rootfs.
ArtifactSource open_artifact_source(Launch &l, rootfs::LazyMountInfo &mi,
                                    std::optional<rootfs::SnapshotView> view)
{
    const UnikernelConfig &c = l.config;
    const std::string &rootfs_dir = l.spec.root_path;
    ArtifactSource src;
    src.root = rootfs_dir;
    if (!c.snapshot_view.empty()) {
        rootfs::SnapshotView v =
            view ? std::move(*view)
                 : rootfs::validate_view(c.snapshot_view, rootfs_dir,
                                         l.host->snapshot_view.effective_prefixes(), mi.get());
        src.view_dev = v.dev;
        src.root = v.path;
        src.fd = std::move(v.dirfd);
        l.artifact_source = "view " + src.root;
    } else {
        // O_NOFOLLOW: create refused a rootfs that is a symlink; one swapped in since fails.
        src.fd =
            UniqueFd(::open(rootfs_dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!src.fd)
            throw sys_error("open rootfs `" + rootfs_dir + "`");
        l.artifact_source = "rootfs " + src.root;
    }
    src.arts = rootfs::open_artifacts(src.fd.get(), {c.binary, c.initrd, ""});
    return src;
}

// The block image of the annotation, at "/".
void use_block_image(Launch &l)
{
    const Spec &s = l.spec;
    const UnikernelConfig &c = l.config;
    std::string dest = std::string(kArtifactDir) + "/block";
    bind_block_image(l, s.root_path, c.block, dest, !s.root_readonly);
    l.params.rootfs = RootfsKind::block;
    l.params.blocks.push_back({"rootfs", dest, "/", "", s.root_readonly});
    l.rootfs_choice = "block: the image `" + c.block + "` of the block annotation, mounted at /";
}

// No view: the artifacts must leave the filesystem before it leaves the host. They are
// copied under the state dir and read from there.
void copy_artifacts_off_device(Launch &l, ArtifactSource &src, const std::string &state_dir)
{
    const UnikernelConfig &c = l.config;
    l.copy_dir = state_dir + "/artifacts";
    rootfs::CopiedArtifacts copy = rootfs::copy_artifacts(src.arts, l.copy_dir);
    copy.release();  // delete removes it with the state dir
    src.root = l.copy_dir;
    src.fd = UniqueFd(::open(src.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!src.fd)
        throw sys_error("open `" + src.root + "`");
    src.arts = rootfs::open_artifacts(src.fd.get(), {c.binary, c.initrd, ""});
    l.artifact_source = "copy " + src.root;
    log::warn("container rootfs is a block device and no snapshot view was given: boot "
              "artifacts copied to `{}` ({} bytes)",
              src.root, src.arts.total_size());
}

// The container rootfs is a block device the guest takes: it leaves the host at create.
void use_rootfs_device(Launch &l, const rootfs::BlockDevice &dev, ArtifactSource &src,
                       const std::string &state_dir)
{
    const Spec &s = l.spec;
    const UnikernelConfig &c = l.config;
    // The guest gets this device: a view from elsewhere would pair it with files that
    // are not its image's.
    if (!c.snapshot_view.empty())
        rootfs::check_view_provenance(c.snapshot_view, src.view_dev, dev);
    l.params.rootfs = RootfsKind::block;
    l.params.blocks.push_back({"rootfs", dev.path, std::string(l.guest->rootfs_disk_mountpoint()),
                               dev.fstype, s.root_readonly});
    l.root.devices.push_back(dev.path);
    l.unmounts.push_back({s.root_path, dev.path});
    l.rootfs_choice = "block: the container rootfs is " + dev.fstype + " on " + dev.path;
    if (c.snapshot_view.empty())
        copy_artifacts_off_device(l, src, state_dir);
}

// virtiofs rather than 9p for the share: opted in by the host config, taken by both.
bool use_virtiofs(const Launch &l)
{
    return l.host && !l.host->extra_binaries.virtiofsd.empty() &&
           l.guest->supports_fs("virtiofs") && l.vmm->supports_shared_fs("virtiofs");
}

// The container rootfs shared with the guest over 9p (or virtiofs: use_virtiofs); with
// `initrd_first`, the initrd annotation's initrd is the guest's early userspace and the
// share its root.
void use_9pfs_share(Launch &l, const std::string &why_not_block, bool initrd_first = false)
{
    const Spec &s = l.spec;
    const bool virtiofs = use_virtiofs(l);
    l.params.rootfs = RootfsKind::ninep;
    l.params.virtiofs_rootfs = virtiofs;
    l.exec.shared_fs = virtiofs ? "virtiofs" : "9p";
    if (virtiofs)
        l.exec.virtiofs_socket = "/run/urunc-virtiofs.sock";
    l.exec.shared_path = "/cntrRootfs";
    l.exec.shared_readonly = s.root_readonly;
    // The directory checked now is the one shared: the init binds it only if the path
    // still leads to this inode.
    UniqueFd share(::open(s.root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!share)
        throw sys_error("open rootfs `" + s.root_path + "`");
    l.shared_binds.push_back({s.root_path, l.exec.shared_path, s.root_readonly, std::move(share)});
    l.rootfs_choice =
        std::string(virtiofs ? "virtiofs" : "9pfs") +
        ": the container rootfs is shared with the guest" +
        std::string(initrd_first ? " as its root, the initrd annotation's initrd boots first"
                                 : "") +
        (why_not_block.empty() ? std::string() : " (not a block device: " + why_not_block + ")") +
        (virtiofs ? " by virtiofsd `" + l.host->extra_binaries.virtiofsd + "`" : std::string());
}

// The exception to "initrd wins" (header): initrd and mountRootfs together on a guest whose
// initrd can mount a shared root, when no block rootfs is asked for or possible.
bool initrd_with_shared_root(const Launch &l, rootfs::LazyMountInfo &mi, std::string *why_not_block)
{
    const UnikernelConfig &c = l.config;
    if (c.initrd.empty() || !c.mount_rootfs.value_or(false) ||
        !l.guest->initrd_mounts_shared_root() || (!c.block.empty() && c.blk_mount_point == "/") ||
        !l.guest->supports_fs("9pfs") || !l.vmm->supports_shared_fs("9p"))
        return false;
    // A block rootfs the guest takes stays the host's with an initrd (as before).
    auto dev = rootfs::block_device_for(l.spec.root_path, mi.get(), why_not_block);
    return !dev || !l.guest->supports_block() || !l.guest->supports_fs(dev->fstype);
}

[[noreturn]] void refuse_mount_rootfs(const Launch &l, const std::string &why_not_block)
{
    throw Error("annotation `com.urunc.unikernel.mountRootfs`: the container rootfs `" +
                l.spec.root_path + "` can be given to a " + std::string(l.guest->name()) +
                " guest on " + std::string(l.vmm->name()) + " neither as a block device" +
                (why_not_block.empty() ? std::string() : " (" + why_not_block + ")") +
                " nor as a shared filesystem");
}

// 2. The guest rootfs, first match wins.
void choose_rootfs_kind(Launch &l, ArtifactSource &src, rootfs::LazyMountInfo &mi,
                        const std::string &state_dir)
{
    const Spec &s = l.spec;
    const UnikernelConfig &c = l.config;
    const bool mount_rootfs = c.mount_rootfs.value_or(false);
    std::optional<rootfs::BlockDevice> dev;
    std::string why_not_block;
    l.params.readonly_rootfs = s.root_readonly;
    if (initrd_with_shared_root(l, mi, &why_not_block)) {
        use_9pfs_share(l, why_not_block, true);
    } else if (!c.initrd.empty()) {
        l.params.rootfs = RootfsKind::initrd;
        l.rootfs_choice = "initrd: the initrd annotation is set";
    } else if (!c.block.empty() && c.blk_mount_point == "/" && l.guest->supports_block()) {
        use_block_image(l);
    } else if (mount_rootfs && l.guest->supports_block() &&
               (dev = rootfs::block_device_for(s.root_path, mi.get(), &why_not_block)) &&
               l.guest->supports_fs(dev->fstype)) {
        use_rootfs_device(l, *dev, src, state_dir);
    } else if (mount_rootfs && l.guest->supports_fs("9pfs") && l.vmm->supports_shared_fs("9p")) {
        use_9pfs_share(l, why_not_block);
    } else if (mount_rootfs) {
        refuse_mount_rootfs(l, why_not_block);
    } else {
        l.params.rootfs = RootfsKind::none;
        l.rootfs_choice = "none: no initrd, block image or mountRootfs requested";
    }
}

bool is_bind_mount(const Mount &m)
{
    return m.type == "bind" ||
           std::find(m.options.begin(), m.options.end(), "bind") != m.options.end() ||
           std::find(m.options.begin(), m.options.end(), "rbind") != m.options.end();
}

// Volumes: a bind mount whose source is itself a block device mount becomes an extra
// disk (upstream getBlockVolumes, there only beside a block rootfs; here for any guest
// that takes disks, e.g. a Linux guest booting an initrd).
void add_volume_disks(Launch &l, rootfs::LazyMountInfo &mi)
{
    const Spec &s = l.spec;
    for (size_t i = 0; i < s.mounts.size(); ++i) {
        const Mount &m = s.mounts[i];
        if (!is_bind_mount(m) || m.source.empty() || m.source[0] != '/')
            continue;
        std::string why;
        auto vol = rootfs::block_device_for(m.source, mi.get(), &why);
        if (!vol || !l.guest->supports_fs(vol->fstype))
            continue;
        // Its filesystem leaves the host: only a mount made for this container (inside
        // its bundle, next to the rootfs) may go. A host mount such as /mnt/data stays
        // the host's, and the guest does not get it.
        if (!owned_by_container(m.source, s.root_path)) {
            log::warn("volume `{}`: `{}` ({} on {}) is a host mount outside the bundle: it stays "
                      "mounted on the host and the guest does not get it as a disk",
                      m.destination, m.source, vol->fstype, vol->path);
            continue;
        }
        // A `ro` volume is a read-only disk for the guest (or refused by a VMM that has none).
        const bool ro = std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
        l.params.blocks.push_back(
            {"vol" + std::to_string(i), vol->path, m.destination, vol->fstype, ro});
        l.root.devices.push_back(vol->path);
        l.unmounts.push_back({m.source, vol->path});
        log::info("volume `{}` ({} on {}) becomes guest disk vol{}{}", m.destination, vol->fstype,
                  vol->path, i, ro ? ", read-only" : "");
        l.rootfs_choice += fmt::format("; volume {}: {} on {} as disk vol{}{}", m.destination,
                                       vol->fstype, vol->path, i, ro ? " (read-only)" : "");
    }
}

// 3. The artifacts, bound read-only into the monitor root: zero bytes copied.
void bind_boot_artifacts(Launch &l, ArtifactSource &src)
{
    l.exec.kernel = std::string(kArtifactDir) + "/kernel";
    bind_artifact(l, src.arts.kernel, src.root, l.exec.kernel);
    if (src.arts.initrd) {
        l.exec.initrd = std::string(kArtifactDir) + "/initrd";
        bind_artifact(l, *src.arts.initrd, src.root, l.exec.initrd);
    }
    l.artifact_dir = std::move(src.fd);
}

}  // namespace

void choose_guest_rootfs(Launch &l, const std::string &state_dir, rootfs::LazyMountInfo &mi,
                         std::optional<rootfs::SnapshotView> view)
{
    const UnikernelConfig &c = l.config;
    ArtifactSource src = open_artifact_source(l, mi, std::move(view));
    choose_rootfs_kind(l, src, mi, state_dir);
    if (l.guest->supports_block())
        add_volume_disks(l, mi);
    // An explicit block image mounted elsewhere than "/" is an extra disk of any guest that
    // takes disks.
    if (!c.block.empty() && c.blk_mount_point != "/" && l.guest->supports_block()) {
        std::string dest = std::string(kArtifactDir) + "/annot_vol";
        bind_block_image(l, l.spec.root_path, c.block, dest, true);
        l.params.blocks.push_back({"annot_vol", dest, c.blk_mount_point, ""});
    }
    bind_boot_artifacts(l, src);
}

}  // namespace urunc::container
