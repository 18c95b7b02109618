// The state store: <root>/<id>/state.json (our own schema, written temp+rename) and the
// per-container lock. Status is computed live, never trusted from the file.
#pragma once

#include "base/fd.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace urunc::oci {

enum class Status { creating, created, running, paused, stopped };
const char *to_string(Status s);

struct State {
    std::string id;
    std::string bundle;
    std::string rootfs;
    std::string oci_version;
    std::string created;        // RFC 3339, UTC, nanoseconds
    int pid = -1;
    unsigned long long pid_start = 0;  // /proc/<pid>/stat field 22: guards against pid reuse
    bool creating = true;       // true until create finished
    std::map<std::string, std::string> annotations;
    // What later commands need, recorded at create.
    std::string host_config;    // JSON (config in force at create)
    std::string cgroup;         // JSON, "" when none
    std::string rootfs_choice;  // guest rootfs kind and why
    std::string artifact_source;  // "view <path>", "rootfs", "copy <dir>"
    std::string copy_dir;       // fallback copy to remove at delete ("" when none)
    bool systemd_cgroup = false;
    std::string net_iface;      // container interface mirrored to the guest's tap ("" = none)
    std::string net_tap;        // that tap ("" in older state files: tap0_urunc)

    bool operator==(const State &) const = default;
};

// state.json text <-> State. parse_state throws Error naming `where` when the text is not a
// urunc state file; fields of the wrong type are read as absent.
State parse_state(const std::string &text, const std::string &where);
std::string state_to_json(const State &s);

// Characters runc accepts in an id: [A-Za-z0-9_+.-]+ (and not "." / "..").
bool valid_id(const std::string &id);

// <root>/<id>, held locked (flock) for the lifetime of the object.
class StateDir {
public:
    // Create the directory (0711) and lock it. Throws "container with id exists: <id>".
    static StateDir create(const std::string &root, const std::string &id);
    // Open and lock an existing one. nullopt if it does not exist.
    static std::optional<StateDir> open(const std::string &root, const std::string &id);

    // Read <dir>/state.json without taking the lock (it is replaced atomically).
    static State open_unlocked_load(const std::string &dir);

    const std::string &path() const { return path_; }
    std::string file(const char *name) const { return path_ + "/" + name; }
    bool has_state() const;
    State load() const;
    void save(const State &s) const;
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

// Is this a state dir of ours (vs runc's, which shares the root)?
bool is_urunc_state(const std::string &root, const std::string &id);

// Live status: creating while create runs; stopped if the pid is gone, a zombie or reused;
// paused while the container's cgroup is frozen (created or running before); created while
// the exec fifo exists; else running.
Status live_status(const State &s, const std::string &dir);
// The container's cgroup freezer reports it frozen (false when it has no cgroup).
bool container_frozen(const State &s);
unsigned long long process_start_time(int pid);  // 0 if gone or zombie

// runc's `state` JSON layout (2-space indent when pretty). `owner`: "" for `state`, the
// state dir owner's user name for `list`, as runc prints them.
std::string oci_state_json(const State &s, Status st, bool pretty, const std::string &owner = "");


} // namespace urunc::oci
