// Device-mapper lineage (which dm devices and disks a snapshot device is built from), via
// libdevmapper, used to log and record what a device-mapper rootfs really is.
//
// libdevmapper's first ioctl may mknod /dev/mapper/control and prints to stderr when the
// kernel has no device-mapper; so the kernel is asked first (/proc/misc, /proc/devices) and
// libdevmapper is never called without it. Its log goes to our debug log, never stderr.
#pragma once

#include <string>
#include <vector>

namespace urunc::rootfs {

// Whether the running kernel has device-mapper (loaded or built in). `proc` is for tests;
// the answer for the real /proc is computed once.
bool kernel_has_device_mapper(const std::string &proc = "/proc");

struct DmDevice {
    std::string name;  // dm name, e.g. "containerd-pool-snap-7"
    unsigned major = 0;
    unsigned minor = 0;
    std::vector<std::string> targets;                 // target types of its table, e.g. {"thin"}
    std::vector<std::pair<unsigned, unsigned>> deps;  // devices it maps onto
};

// The device and, depth first, every dm device below it (the thin snapshot, its pool, ...).
// Throws Error(ENODEV) "device-mapper is not available in this kernel" when it has none.
std::vector<DmDevice> dm_lineage(unsigned major, unsigned minor);

}  // namespace urunc::rootfs
