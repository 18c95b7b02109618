// The mount table of a process (/proc/<pid>/mountinfo), parsed with libmount.
// Paths come back unescaped (libmount decodes \040 and friends).
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/path.hpp"

namespace urunc::rootfs {

struct MountEntry {
    int id = 0;
    int parent = 0;
    unsigned major = 0;
    unsigned minor = 0;
    std::string root;  // path inside the filesystem that is mounted ("/" unless a bind)
    std::string mountpoint;
    std::string fstype;
    std::string source;
    std::string options;        // per-mount (VFS) options, e.g. "ro,nosuid,relatime"
    std::string super_options;  // superblock options, e.g. "rw,size=4k"
    std::string propagation;    // optional fields, e.g. "shared:12 master:3"; empty = private

    // `ro` either on this mount or on the superblock: nothing can be written through it.
    bool read_only() const;
};

// True when `opt` is one of the comma-separated words in `options` ("ro" in "ro,nosuid").
bool has_option(std::string_view options, std::string_view opt);

// Mountinfo holds clean absolute paths: compare with normalize_path (base/path.hpp).
using urunc::normalize_path;

class MountInfo {
public:
    // Parse a mountinfo file; throws Error naming the file (and the line when malformed).
    static MountInfo load(const std::string &file = "/proc/self/mountinfo");
    // Parse mountinfo text (as read from such a file); `name` is used in errors.
    static MountInfo parse(std::string_view text, const std::string &name);

    const std::vector<MountEntry> &entries() const { return entries_; }

    // The mount whose mountpoint is `path` (normalised). When several are stacked on the
    // same path the last one wins: it is the one a lookup of the path reaches.
    const MountEntry *find_mount(std::string_view path) const;
    const MountEntry *find_by_id(int id) const;
    bool is_mountpoint(std::string_view path) const { return find_mount(path) != nullptr; }

private:
    static MountInfo from_stream(FILE *f, const std::string &file);
    std::vector<MountEntry> entries_;
};

// /proc/self/mountinfo, read when a step first needs it and then kept: one phase of a
// command hands this down instead of each step reading the table again.
class LazyMountInfo {
public:
    const MountInfo &get()
    {
        if (!mi_)
            mi_ = MountInfo::load();
        return *mi_;
    }

private:
    std::optional<MountInfo> mi_;
};

}  // namespace urunc::rootfs
