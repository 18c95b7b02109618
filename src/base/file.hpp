// Small file helpers with errors that name the path.
#pragma once

#include "base/fd.hpp"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace urunc {

// Read a whole file (path or dirfd-relative). Throws Error naming the path.
std::string read_file(const std::string &path);
std::string read_fd(int fd, const std::string &what, size_t max = SIZE_MAX);

// Size caps for files whose content someone else controls (bundle, image, mount sources).
inline constexpr size_t kMaxUruncJson = 16 * 1024;         // urunc.json
inline constexpr size_t kMaxConfigJson = 4 * 1024 * 1024;  // config.json (and its snapshot)
inline constexpr size_t kMaxSmallFile = 64 * 1024;         // resolv.conf, state.json, ...

// Read a file someone else controls: opened O_NONBLOCK (a FIFO or a device node cannot
// park us, while we may hold a container's lock), fstat-checked to be a regular file, and
// refused unread when larger than `max` bytes (a 1 GiB sparse file costs nothing to make).
// Errors name the path: "`<path>` is not a regular file (it is a FIFO)", "`<path>` is
// 1073741824 bytes, more than the 16384 allowed".
std::string read_regular_file(const std::string &path, size_t max);
// The same for an fd the caller opened (with O_NONBLOCK when it may not be a regular file).
std::string read_regular_fd(int fd, const std::string &what, size_t max);
// What a file of mode `m` is, for messages: "a directory", "a FIFO", "a block device", ...
const char *file_kind(mode_t m);

// Write data to `path` atomically: temp file `.<name>.XXXXXX` in the same dir, fsync-free
// (state is in tmpfs), then rename. Mode applies to the new file.
void write_file_atomic(const std::string &path, std::string_view data, unsigned mode = 0644);

// Write all bytes to an fd, retrying on EINTR / short writes.
void write_all(int fd, std::string_view data, const std::string &what);

// mkdir -p; existing directories are fine.
void mkdir_p(const std::string &path, unsigned mode = 0755);

// rm -rf that never crosses into another filesystem and never follows symlinks.
// Returns an error message list (empty on success).
std::string remove_tree(const std::string &path);

// Throws Error(ENOSPC) "not enough space in `<dir>`: need N bytes, have M" unless the
// filesystem of `dirfd` has room for files of these sizes (each rounded up to whole blocks).
// Every copy checks first: a copy that fails half-way has already eaten the space others need.
void require_free_space(int dirfd, const std::string &dir, const std::vector<uint64_t> &file_sizes);

bool path_exists(const std::string &path);

std::string join_path(std::string_view a, std::string_view b);

}  // namespace urunc
