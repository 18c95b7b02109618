// The boot artifacts (kernel, initrd, urunc.json) of a container, opened inside a root
// (a snapshot view or the rootfs directory) without ever leaving it, and the fallback copy
// used for a block rootfs that comes without a view.
#pragma once

#include "base/fd.hpp"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace urunc::rootfs {

// Largest kernel or initrd accepted (4 GiB: far above any real one, far below what a
// sparse file can claim).
inline constexpr std::uint64_t kMaxBootArtifact = 4ULL << 30;

struct Artifact {
    std::string path;     // as requested, e.g. "/unikernel/app.qemu"
    std::string relpath;  // normalised and relative: "unikernel/app.qemu"
    UniqueFd fd;          // O_PATH on the regular file
    std::uint64_t size = 0;
    mode_t mode = 0;  // permission bits

    // Usable as a bind-mount source or a path for the VMM while `fd` is open.
    std::string proc_path() const;
};

struct ArtifactPaths {
    std::string kernel;  // required
    std::string initrd;  // "" when the guest has none
    std::string config;  // "" to skip; e.g. "/urunc.json" (its absence is not an error)
};

struct BootArtifacts {
    Artifact kernel;
    std::optional<Artifact> initrd;
    std::optional<Artifact> config;

    std::vector<const Artifact *> all() const;
    std::uint64_t total_size() const;
};

// Open each artifact beneath `root_dirfd` (open_in_root: symlinks inside are followed, any
// escape is an error) and check it is a regular file. Errors start with the role:
// "kernel: open `/unikernel/app` in `/run/view`: No such file or directory".
BootArtifacts open_artifacts(int root_dirfd, const ArtifactPaths &paths);

// Copies made by copy_artifacts: removed with their directory when this object dies,
// unless release() was called (then `delete` removes them with the state dir).
class CopiedArtifacts {
public:
    explicit CopiedArtifacts(std::string dir) : dir_(std::move(dir)) {}
    ~CopiedArtifacts();
    CopiedArtifacts(CopiedArtifacts &&o) noexcept;
    CopiedArtifacts &operator=(CopiedArtifacts &&) = delete;
    CopiedArtifacts(const CopiedArtifacts &) = delete;

    const std::string &dir() const { return dir_; }
    std::string kernel;  // absolute paths of the copies ("" when not copied)
    std::string initrd;
    std::string config;
    void release() { released_ = true; }

private:
    std::string dir_;
    bool released_ = false;
};

// Copy the artifacts into `dest_dir` (created 0755 if missing; must be empty otherwise),
// each at its relative path. Free space is checked first:
// "not enough space in `<dir>`: need N bytes, have M" (ENOSPC).
CopiedArtifacts copy_artifacts(const BootArtifacts &artifacts, const std::string &dest_dir);

}  // namespace urunc::rootfs
