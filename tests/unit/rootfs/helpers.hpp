// Test helpers for the rootfs module: temp dirs, mounts, loop devices, forked children.
// Everything is RAII so a failing test still cleans up.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

namespace urunc::rootfs::test {

// The tests that mount run in a private mount namespace of the test process (entered once,
// / made rslave), so nothing they mount is visible on the host, and a crash cannot leak.
void enter_private_mount_ns();

// A fresh directory under /tmp, removed (recursively, never crossing mounts) at the end.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    const std::string &path() const { return path_; }
    std::string operator/(const std::string &rel) const { return path_ + "/" + rel; }

private:
    std::string path_;
};

// A mount that is lazily detached at the end (no error if it is already gone).
class ScopedMount {
public:
    ScopedMount(const std::string &source, const std::string &target, const std::string &fstype,
                unsigned long flags, const std::string &data = "");
    ~ScopedMount();
    ScopedMount(const ScopedMount &) = delete;
    ScopedMount &operator=(const ScopedMount &) = delete;
    const std::string &target() const { return target_; }

private:
    std::string target_;
};

// An ext4 image (mkfs.ext4 -q) attached to a free loop device, detached at the end.
class LoopDevice {
public:
    LoopDevice(const std::string &image, unsigned size_mib = 8, bool mkfs = true);
    ~LoopDevice();
    LoopDevice(const LoopDevice &) = delete;
    LoopDevice &operator=(const LoopDevice &) = delete;
    const std::string &path() const { return path_; }

private:
    std::string path_;
};

void write_text(const std::string &path, const std::string &text);

// Run `fn` in a forked child; returns "" when it returned normally, else the exception text
// or a description of how the child died. The child never returns into Catch2.
std::string run_in_child(const std::function<void()> &fn);

// A forked child that runs `setup` (e.g. unshare a mount namespace) and then stays parked,
// holding whatever it set up, until release() or destruction. The constructor returns once
// setup is done and throws with the child's message if it failed. Synchronised by pipes.
class ParkedChild {
public:
    explicit ParkedChild(const std::function<void()> &setup);
    ~ParkedChild();
    ParkedChild(const ParkedChild &) = delete;
    ParkedChild &operator=(const ParkedChild &) = delete;
    pid_t pid() const { return pid_; }
    void release();  // let it exit and reap it

private:
    pid_t pid_ = -1;
    int release_fd_ = -1;
};

// The message of the Error `fn` throws, or "" when it throws nothing.
std::string error_of(const std::function<void()> &fn);

}  // namespace urunc::rootfs::test
