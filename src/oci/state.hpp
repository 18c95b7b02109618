// The state file format: <root>/<id>/state.json (our own schema) and runc's `state` JSON.
// The store that reads and writes it under a lock is container/state_store.hpp.
#pragma once

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
    std::string created;  // RFC 3339, UTC, nanoseconds
    int pid = -1;
    unsigned long long pid_start = 0;  // /proc/<pid>/stat field 22: guards against pid reuse
    bool creating = true;              // true until create finished
    std::map<std::string, std::string> annotations;
    // What later commands need, recorded at create.
    std::string host_config;      // JSON (config in force at create)
    std::string cgroup;           // JSON, "" when none
    std::string rootfs_choice;    // guest rootfs kind and why
    std::string artifact_source;  // "view <path>", "rootfs", "copy <dir>"
    std::string copy_dir;         // fallback copy to remove at delete ("" when none)
    bool systemd_cgroup = false;
    std::string net_iface;  // container interface mirrored to the guest's tap ("" = none)
    std::string net_tap;    // that tap ("" in older state files: tap0_urunc)

    bool operator==(const State &) const = default;
};

// state.json text <-> State. parse_state throws Error naming `where` when the text is not a
// urunc state file; fields of the wrong type are read as absent.
State parse_state(const std::string &text, const std::string &where);
std::string state_to_json(const State &s);

// Characters runc accepts in an id: [A-Za-z0-9_+.-]+ (and not "." / "..").
bool valid_id(const std::string &id);

// runc's `state` JSON layout (2-space indent when pretty). `owner`: "" for `state`, the
// state dir owner's user name for `list`, as runc prints them.
std::string oci_state_json(const State &s, Status st, bool pretty, const std::string &owner = "");

}  // namespace urunc::oci
