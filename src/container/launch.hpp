// Everything create decides before the init process exists: the guest, the VMM, the
// artifacts (opened, never copied unless a block rootfs has no view), the monitor root and
// the VMM argv (built once here so errors surface at create, rebuilt at start with the
// network). The init child is a clone of create, so it inherits this in memory.
#pragma once

#include "base/fd.hpp"
#include "net/host_netns.hpp"
#include "oci/host_config.hpp"
#include "oci/spec.hpp"
#include "oci/unikernel_config.hpp"
#include "rootfs/monitor_root.hpp"
#include "rootfs/mountinfo.hpp"
#include "rootfs/view.hpp"
#include "unikernels/guest.hpp"
#include "vmm/vmm.hpp"

#include <string>
#include <vector>

namespace urunc::container {

// Inside the monitor root, boot artifacts live here (never collides with /lib, /usr, ...).
inline constexpr const char *kArtifactDir = "/.urunc";

// An artifact bound into the monitor root. create validates it (fd); the init, whose mount
// namespace is a copy, resolves the same path again (a mount can only be bound from the
// caller's own namespace) and binds it only if it is still the same inode.
struct FileBind {
    UniqueFd fd;              // O_PATH fd opened and checked by create
    std::string root;         // directory it was resolved in (rootfs or view)
    std::string path;         // path inside that directory
    std::string destination;  // path inside the monitor root
    bool writable = false;    // a block image the guest writes; else read-only
};

struct Launch {
    oci::Spec spec;
    oci::UnikernelConfig config;
    // The host config create read (host_config(): a static of this process, read once),
    // not a copy: it outlives the launch, and the init, a clone of create, sees the same
    // memory.
    const oci::HostConfig *host = nullptr;
    const unikernels::Guest *guest = nullptr;
    const vmm::Vmm *vmm = nullptr;
    unikernels::GuestParams params;  // params.net: the guest network, its one copy
    vmm::ExecPlan exec;              // exec.net stays empty: build_command sets it from params
    // The VMM's argv and files as built at create (its files go into the monitor root);
    // start builds it once more, with the network, before the exec.
    vmm::Command command;
    // The spec's resources as the container's cgroup gets them (guest_resources.hpp: the
    // memory limit is raised by the VMM's reserve in "add" mode).
    oci::Resources cgroup_resources;

    // Monitor root: what create decides (root_dir, the VMM's binds, data dirs, links and
    // devices) is held here once; the init adds what only it can resolve (file binds
    // reopened in its namespace, the spec's nodes and paths, the guest files).
    rootfs::MonitorRootRequest root;
    std::vector<FileBind> file_binds;  // artifacts and block images
    struct DirBind {
        std::string source, destination;
        bool readonly = false;  // root.readonly
        UniqueFd fd;  // O_PATH fd of `source` opened at create: the init binds only that inode
    };
    std::vector<DirBind> shared_binds;  // directory binds (9pfs share), nodev, nosuid
    // The directory the artifacts were opened in (rootfs, view or copy), held until create
    // is done with this launch.
    UniqueFd artifact_dir;

    // Network: set up by the init at start, in the container's network namespace.
    bool network = false;  // the container has its own (new or joined) network namespace
    std::vector<net::NetnsId>
        host_netns;   // create's and PID 1's: never given a tap (init re-checks)
    std::string dns;  // from the container's /etc/resolv.conf mount, if any

    // Decisions, logged and recorded in state
    std::string rootfs_choice;
    std::string artifact_source;
    std::string copy_dir;
    // Block devices leaving the host for the guest: {mountpoint to unmount, device}. The
    // container rootfs first, then volumes. Unmounted by create before the init exists.
    struct HostUnmount {
        std::string path, device;
    };
    std::vector<HostUnmount> unmounts;
    // Open fds on those devices, handed to the VMM across exec: a loop device with the
    // autoclear flag (mount -o loop, containerd's loop mounts) would otherwise be detached
    // when its filesystem is unmounted, before the VMM opens it.
    std::vector<UniqueFd> device_fds;
};

// A bundle's unikernel config (validated), and the snapshot view when urunc.json was read
// from it: validated then, it is not validated again.
struct DetectedUnikernel {
    oci::UnikernelConfig config;
    std::optional<rootfs::SnapshotView> view;
};

// The unikernel config of a bundle: annotations, else urunc.json in the view or rootfs (read
// without following symlinks out of it). nullopt: not a unikernel (runc's). `mi` is the
// mount table of this phase (read only when a view is checked).
std::optional<DetectedUnikernel> detect_unikernel(const oci::Spec &spec, rootfs::LazyMountInfo &mi);

// Resolve guest/VMM, open the artifacts, build the command once (Launch::command). `mi` is
// the mount table detect_unikernel was given. Throws Error with the reason.
Launch prepare_launch(oci::Spec spec, DetectedUnikernel unikernel, const oci::HostConfig &host,
                      rootfs::LazyMountInfo &mi, const std::string &state_dir);

// The VMM command for this launch (with the network when known): create's is in
// Launch::command, start builds it once more.
vmm::Command build_command(const Launch &l);

}  // namespace urunc::container
