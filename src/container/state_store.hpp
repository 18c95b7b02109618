// The state store: <root>/<id>/state.json (written temp+rename, format in oci/state.hpp) and
// the per-container lock. Status is computed live, never trusted from the file.
#pragma once

#include "base/fd.hpp"
#include "oci/state.hpp"

#include <optional>
#include <string>

namespace urunc::container {

// <root>/<id>, held locked (flock) for the lifetime of the object.
class StateDir {
public:
    // Create the directory (0711) and lock it. Throws "container with id exists: <id>".
    static StateDir create(const std::string &root, const std::string &id);
    // Open and lock an existing one. nullopt if it does not exist.
    static std::optional<StateDir> open(const std::string &root, const std::string &id);

    // Read <dir>/state.json without taking the lock (it is replaced atomically).
    static oci::State open_unlocked_load(const std::string &dir);

    const std::string &path() const { return path_; }
    std::string file(const char *name) const { return path_ + "/" + name; }
    bool has_state() const;
    oci::State load() const;
    void save(const oci::State &s) const;
    // Remove the directory and all in it. Returns error text ("" on success).
    std::string remove();

private:
    StateDir(std::string path, UniqueFd fd) : path_(std::move(path)), lock_(std::move(fd)) {}
    std::string path_;
    UniqueFd lock_;
};

// State is trusted only where nobody else can write: `--root` and each state dir must be
// owned by root or by our euid and not writable by group or other. Otherwise another user
// could plant a state.json whose pid we would kill or whose paths we would act on. Throws
// "state directory `<path>` is owned by uid 65534 with mode 0777: ..." (EPERM).
void check_trusted_dir(int dirfd, const std::string &path);
// The same for `--root` by path; a root that does not exist yet is fine (create makes it).
void check_state_root(const std::string &root);

// Start's end of the exec fifo (non-blocking read): opening it lets a parked init go on.
UniqueFd open_exec_fifo(const StateDir &dir);

// Is this a state dir of ours (vs runc's, which shares the root)?
bool is_urunc_state(const std::string &root, const std::string &id);

// Live status: creating while create runs; stopped if the pid is gone, a zombie or reused;
// paused while the container's cgroup is frozen (created or running before); created while
// the exec fifo exists; else running.
oci::Status live_status(const oci::State &s, const std::string &dir);
// The container's cgroup freezer reports it frozen (false when it has no cgroup).
bool container_frozen(const oci::State &s);
unsigned long long process_start_time(int pid);  // 0 if gone or zombie

}  // namespace urunc::container
