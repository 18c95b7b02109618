// Small file helpers with errors that name the path.
#pragma once

#include "base/fd.hpp"

#include <string>
#include <string_view>

namespace urunc {

// Read a whole file (path or dirfd-relative). Throws Error naming the path.
std::string read_file(const std::string &path);
std::string read_fd(int fd, const std::string &what);

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

bool path_exists(const std::string &path);

std::string join_path(std::string_view a, std::string_view b);

} // namespace urunc
