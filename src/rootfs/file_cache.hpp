// Answers computed from host files, kept on disk and reused while none of those files changed.
//
// Its one use: the shared libraries of a dynamic VMM. The loader's `--list` costs about 6 ms for
// QEMU's 50 libraries (and once more per accelerator module), on every create; the answer only
// changes when a package changes a file. An entry is valid while every file it watches (the
// binary, each library, their directories, the loader's cache) has the same device, inode,
// size, mtime and ctime as when it was written, and a watched file that was absent is still
// absent. Anything else (no entry, another key, a changed file, a malformed or foreign file) is
// a miss, and the caller computes the answer as if there were no cache.
//
// The cache lives in a root-only directory (host config `[runtime] cache_dir`); a file there not
// owned by us or writable by others is ignored, never trusted.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace urunc::rootfs {

// Named lists of strings ("libs" -> paths, ...).
using CachedLists = std::map<std::string, std::vector<std::string>>;

class FileCache {
public:
    // `dir` "" disables the cache (every lookup misses, store does nothing). `key` is what was
    // asked (e.g. the binary's path): an entry answers exactly that key.
    FileCache(std::string dir, std::vector<std::string> key);

    // The lists, if an entry for the key exists and none of its watched files changed.
    std::optional<CachedLists> load() const;
    // Best effort: a cache that cannot be written (read-only, full) only costs the next create
    // the loader's time again. `watched` are the files the answer was computed from.
    void store(const std::vector<std::string> &watched, const CachedLists &lists) const noexcept;

    // The entry's file (under dir): the key's hash, so one directory holds many keys.
    const std::string &file() const { return file_; }

private:
    std::string dir_;
    std::vector<std::string> key_;
    std::string file_;
};

}  // namespace urunc::rootfs
