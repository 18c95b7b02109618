// Is a directory the mountpoint of a whole block device (a loop device, a device-mapper
// snapshot, a disk)? Only then can the device be handed to the guest as its root disk.
#pragma once

#include "rootfs/mountinfo.hpp"

#include <optional>
#include <string>

namespace urunc::rootfs {

enum class BlockKind { loop, device_mapper, other };
const char *to_string(BlockKind k);

struct BlockDevice {
    std::string path;  // the mount source: /dev/loop3, /dev/mapper/containerd-pool-snap-7, ...
    unsigned major = 0;
    unsigned minor = 0;
    std::string fstype;
    BlockKind kind = BlockKind::other;
    std::string loop_backing_file;  // loop only: the image file behind it
    std::string dm_name;            // device-mapper only: the dm name (no /dev/mapper/)
};

// The block device mounted at `path` (resolved with realpath), or nullopt when it is not
// one. Accepted only when: `path` is a mountpoint; its source is a /dev/... node whose
// st_rdev is the mount's major:minor (a tmpfs may call itself "/dev/loop0"); the mount
// root is "/" (not a bind of a subdirectory); no other mount shows that device with a
// different root (bind mounts elsewhere would keep writing to it). When `why_not` is
// given it receives the reason for a nullopt, for the log. Throws only when `path` cannot
// be resolved.
std::optional<BlockDevice> block_device_for(const std::string &path, const MountInfo &mi,
                                            std::string *why_not = nullptr);

// Fill kind, loop backing file and dm name of major:minor from sysfs
// (<sysfs>/dev/block/M:m/{loop/backing_file,dm/name}).
void describe_from_sysfs(BlockDevice &dev, const std::string &sysfs = "/sys");

}  // namespace urunc::rootfs
