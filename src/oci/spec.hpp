// config.json -> typed Spec, in one pass, with JSON paths in every error.
#pragma once

#include "oci/capabilities.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urunc::oci {

struct SpecHook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    bool has_env = false;
    int timeout = 0;
};

struct SpecHooks {
    std::vector<SpecHook> prestart, create_runtime, create_container, start_container, poststart,
        poststop;
};

struct Namespace {
    std::string type;  // mount, network, pid, ipc, uts, cgroup, user, time
    std::string path;  // empty: create a new one
};

struct Mount {
    std::string destination, type, source;
    std::vector<std::string> options;
};

// One linux.resources.devices rule. type 'a' (all), 'b' or 'c'; -1 is the wildcard `*`.
struct DeviceRule {
    bool allow = false;
    char type = 'a';
    int64_t major = -1, minor = -1;
    std::string access = "rwm";  // a subset of "rwm"
};

// One linux.devices entry: a node to create in the VMM's /dev (and to allow).
struct LinuxDevice {
    std::string path;  // absolute, under /dev
    char type = 'c';   // 'c', 'u' (= 'c'), 'b' or 'p'
    int64_t major = 0, minor = 0;
    uint32_t file_mode = 0666;
    uint32_t uid = 0, gid = 0;
};

struct Rlimit {
    int resource;  // RLIMIT_*
    std::string name;
    uint64_t soft = 0, hard = 0;
};

struct Resources {
    int64_t memory_limit = 0;
    int64_t memory_swap = 0;
    uint64_t cpu_shares = 0;
    int64_t cpu_quota = 0;
    uint64_t cpu_period = 0;
    int64_t pids_limit = 0;
    std::string cpuset_cpus, cpuset_mems;
    std::vector<DeviceRule> devices;  // in order; empty: the device cgroup is left as is
};

struct Spec {
    std::string oci_version;
    // process
    bool terminal = false;
    unsigned console_rows = 0, console_cols = 0;
    uint32_t uid = 0, gid = 0;
    std::vector<uint32_t> additional_gids;
    std::vector<std::string> args, env;
    std::string cwd = "/";
    bool no_new_privileges = false;
    std::optional<Capabilities> capabilities;  // absent: left as they are (runc)
    std::vector<Rlimit> rlimits;
    std::optional<int> oom_score_adj;
    std::string apparmor_profile, selinux_label;
    // root
    std::string root_path;  // absolute (bundle-relative paths resolved)
    bool root_readonly = false;
    std::string hostname;
    std::vector<Mount> mounts;
    std::map<std::string, std::string> annotations;
    SpecHooks hooks;
    // linux
    bool has_linux = false;
    std::vector<Namespace> namespaces;
    std::string cgroups_path;
    Resources resources;
    bool has_seccomp = false;
    std::string rootfs_propagation;
    std::vector<std::string> masked_paths, readonly_paths;
    std::map<std::string, std::string> sysctl;
    std::vector<LinuxDevice> devices;

    const Namespace *find_namespace(const std::string &type) const;
};

// RLIMIT_* number of an OCI rlimit type ("RLIMIT_NOFILE"), -1 if unknown.
int rlimit_number(std::string_view name);

// Parse config.json text. `bundle` is absolute; a relative root.path is taken from it.
// Errors: "config.json: <json path>: <reason>".
Spec parse_spec(const std::string &json, const std::string &bundle);

// Read <bundle>/config.json and parse it.
Spec load_spec(const std::string &bundle);

}  // namespace urunc::oci
