// The guest (unikernel type) interface. Guests are pure: no filesystem, no syscalls.
// One file per guest type, registered in registry.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace urunc::unikernels {

enum class RootfsKind { none, block, initrd, ninep };

std::string_view to_string(RootfsKind k);

// Guest network as the guest must configure it (values as they appear on command lines).
struct Net {
    std::string tap;      // host tap device the VMM attaches
    std::string ip;       // e.g. 10.0.0.2
    std::string mask;     // dotted, e.g. 255.255.255.0
    std::string gateway;  // e.g. 10.0.0.1
    std::string mac;      // e.g. 52:54:00:12:34:56
    std::string dns;      // e.g. 8.8.8.8 (may be empty)
    unsigned mtu = 0;
};

// A disk the guest gets. `source` is the path as the VMM sees it.
struct Block {
    std::string id;  // "rootfs" for the container rootfs, "vol<N>", "annot_vol"
    std::string source;
    std::string mountpoint;  // where the guest mounts it
    std::string fstype;
    bool readonly = false;  // root.readonly, or a volume mounted `ro`: the guest may not write it
};

// What a guest needs to know about the VMM that runs it, as that VMM answers
// (vmm::Vmm::traits(), each VMM in its own file): no guest tests a VMM's name.
struct MonitorTraits {
    // Disks and NICs are given as the VMM's own command-line words (QEMU: -device, -drive,
    // -netdev; BlockArg::exact, MonitorArgs::net); otherwise a disk is an id and a path
    // (BlockArg::id, BlockArg::path) that the VMM formats itself.
    bool qemu_argv = false;
    // A Solo5 tender (hvt, spt): devices are attached by the names in the image's manifest
    // (--net:<name>=, --block:<name>=).
    bool solo5_tender = false;
    // Starts a VM without its default devices when told to (QEMU's -nodefaults).
    bool has_nodefaults = false;
    // Prefix of a non-root drive's id as the guest sees it: urunit looks up a Firecracker
    // drive as FC<id>; the root drive keeps its id.
    std::string drive_id_prefix;
    // The guest's serial console on aarch64 (QEMU's virt machine has a PL011: ttyAMA0).
    std::string aarch64_console = "ttyS0";
};

struct GuestParams {
    std::vector<std::string> args;  // process.args (or the cmdline annotation split)
    std::vector<std::string> env;   // process.env
    std::string monitor;            // VMM registry name, for messages and the VMM's own check
    MonitorTraits vmm_traits;       // of that VMM: what the guest's words depend on
    std::string version;            // com.urunc.unikernel.unikernelVersion
    std::string arch = "x86_64";    // x86_64 | aarch64
    std::optional<Net> net;
    std::vector<Block> blocks;  // rootfs block first when rootfs == block
    RootfsKind rootfs = RootfsKind::none;
    bool readonly_rootfs = false;           // root.readonly: mounted `ro` by the guest (block, 9p)
    std::string solo5_net_dev = "service";  // Mirage manifest device names
    std::string solo5_blk_dev = "storage";
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string cwd = "/";
    // With rootfs == ninep: the share is virtiofs instead of 9p (the host config names a
    // virtiofsd). A flag rather than a RootfsKind: only Linux reads it.
    bool virtiofs_rootfs = false;
};

// A disk as the guest wants the VMM to present it: either id+path (the VMM formats it)
// or exact argv words.
struct BlockArg {
    std::string id;
    std::string path;
    std::vector<std::string> exact;
    bool readonly = false;  // the VMM presents it read-only, or refuses
};

// What a guest adds to the VMM's argv (double dispatch: the VMM asks, the guest answers
// for the VMM described by GuestParams::vmm_traits).
struct MonitorArgs {
    std::vector<std::string> net;  // non-empty: replaces the VMM's default net words
    std::vector<BlockArg> blocks;
    std::string extra_initrd;        // path inside the monitor root
    std::vector<std::string> other;  // appended before the guest command line
    // Files the guest needs in the monitor root: {absolute path inside it, content}.
    std::vector<std::pair<std::string, std::string>> files;
    // Files to append to the rootfs initrd (RootfsKind::initrd only), e.g. the urunit
    // config of a Linux guest: {absolute path inside the initrd, content}. The caller
    // appends them as cpio "newc" members; a guest never touches the filesystem.
    std::vector<std::pair<std::string, std::string>> initrd_files;
};

class Guest {
public:
    virtual ~Guest() = default;
    virtual std::string_view name() const = 0;
    virtual std::vector<std::string_view> monitors() const = 0;  // allowed VMMs
    virtual bool supports_block() const = 0;
    virtual bool supports_fs(std::string_view fstype) const = 0;
    // The guest kernel command line. Throws urunc::Error on invalid params.
    virtual std::string command_line(const GuestParams &p) const = 0;
    virtual MonitorArgs monitor_args(const GuestParams &p) const = 0;
    // Non-fatal remarks to log (e.g. undefined unikraft version).
    virtual std::vector<std::string> warnings(const GuestParams &) const { return {}; }
    // The least RAM (MiB) this guest type boots with: a memory limit that leaves less after
    // the VMM's reserve is refused at create. Unikernels are small; Linux says more.
    virtual uint64_t min_memory_mib() const { return 16; }
    // Where the guest mounts the container rootfs when it gets it as a disk.
    virtual std::string_view rootfs_disk_mountpoint() const { return "/"; }
    // Can an initrd be this guest's early userspace while a shared container rootfs is its
    // root (a kernel that loads the share's modules from the initrd, then switches root)?
    // Else an initrd is the guest's whole rootfs.
    virtual bool initrd_mounts_shared_root() const { return false; }
};

// Registry (registry.cpp): one table line per guest.
const Guest *find_guest(std::string_view name);
std::span<const Guest *const> all_guests();

}  // namespace urunc::unikernels
