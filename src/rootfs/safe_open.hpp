// Opening paths without being led astray by symlinks (openat2(2), Linux >= 5.6).
//
// Choice for paths inside an image (a snapshot view or a rootfs dir): RESOLVE_BENEATH, not
// RESOLVE_IN_ROOT. IN_ROOT would silently re-root an absolute symlink or a ".." that climbs
// out, which is safe but hides an image that points at host paths; BENEATH makes every such
// escape an error (EXDEV) that names the path, so a bad image is refused loudly. Relative
// symlinks that stay inside the root are followed. /proc-style magic links are never
// followed (RESOLVE_NO_MAGICLINKS).
#pragma once

#include "base/fd.hpp"

#include <cstdint>
#include <string>

namespace urunc::rootfs {

// Open `path` (leading "/" ignored: it is relative to the root) beneath `root_dirfd`.
// O_CLOEXEC is always added. Escapes throw Error(EXDEV):
//   "`<path>` in `<root>` escapes it through a symlink, .. or a mount inside it"
// Crossing a mount inside the root is refused too (RESOLVE_NO_XDEV).
UniqueFd open_in_root(int root_dirfd, const std::string &path, int flags);

// Open an absolute host path refusing a symlink in any component (RESOLVE_NO_SYMLINKS);
// the error names the component that is a symlink.
UniqueFd open_no_symlinks(const std::string &abs_path, int flags);

// The first component of an absolute path that is a symlink ("/a/b" for "/a/b/c" when b is
// one), or "" when there is none.
std::string first_symlink_component(const std::string &abs_path);

// Size of the regular file behind `fd` (O_PATH fds work); anything else throws Error
// "`<what>` is not a regular file (it is a directory)".
std::uint64_t regular_file_size(int fd, const std::string &what);

// Open `path` again (O_PATH | O_CLOEXEC plus `flags`) and make sure it is still the inode
// behind `checked_fd` (same st_dev and st_ino): a path checked at one time and used at
// another may have been swapped (a symlink re-pointed, a directory renamed) in between.
// Throws Error(ESTALE) "`<path>` changed since it was checked (...)".
UniqueFd reopen_same(const std::string &path, int checked_fd, int flags = 0);

// The path the kernel reports for `fd` (readlink of /proc/self/fd/N), for messages.
std::string fd_path(int fd);

}  // namespace urunc::rootfs
