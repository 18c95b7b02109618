// An initrd with extra files: the original followed by a cpio "newc" archive of the files
// (the kernel unpacks concatenated archives in order, compressed or not). Used when a guest
// needs files inside its initrd rootfs (urunit's config); the image's own initrd is never
// modified, so this is the one case where the initrd is copied.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace urunc::rootfs {

// Write `dest` (a new file) = the contents of `initrd_fd` + padding to 4 bytes + a newc
// archive holding `files` ({absolute path in the initrd, content}, mode 0644, root-owned).
void write_initrd_with_files(int initrd_fd, const std::string &dest,
                             const std::vector<std::pair<std::string, std::string>> &files);

// The newc archive alone (exposed for tests).
std::string newc_archive(const std::vector<std::pair<std::string, std::string>> &files);

}  // namespace urunc::rootfs
