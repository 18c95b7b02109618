// Host configuration: /etc/urunc/config.toml (or $URUNC_CONFIG), overlaid on built-in
// defaults. Recorded in state.json at create so that later commands of the same container
// do not disagree with an edited file. Keys: docs/configuration.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace urunc::oci {

inline constexpr const char *kDefaultHostConfigPath = "/etc/urunc/config.toml";

struct MonitorConfig {
    std::string path;                   // explicit VMM binary; empty: PATH lookup
    uint64_t default_memory_mib = 256;  // guest RAM when the spec sets no memory limit
    unsigned default_vcpus = 1;         // vCPUs when the spec sets no CPU quota
    // Memory the VMM itself needs beside the guest's RAM, kept out of (or added to) the
    // container's memory limit: docs/configuration.md. Built-in values per VMM in
    // default_monitors(); this one is for a VMM without them.
    uint64_t memory_overhead_mib = 128;
    std::string data_path;  // qemu firmware root; empty: system default
    bool vhost = false;

    bool operator==(const MonitorConfig &) const = default;
};

struct HostConfig {
    // Keyed by VMM name; defaults exist for qemu, firecracker, hvt, spt, cloud-hypervisor.
    std::map<std::string, MonitorConfig> monitors = default_monitors();

    // [log]: the level of urunc's own log (--log or stderr), one of debug, info, warn,
    // error; --debug overrides it. `syslog = true` is refused: urunc has no syslog output.
    struct Log {
        std::string level = "info";
        bool operator==(const Log &) const = default;
    } log;

    // [extra_binaries.virtiofsd] path: the virtiofsd binary. Set, it opts in to virtiofs
    // for a shared container rootfs where guest and VMM can take it (QEMU + Linux); empty
    // (the default), the share stays 9p.
    struct ExtraBinaries {
        std::string virtiofsd;
        bool operator==(const ExtraBinaries &) const = default;
    } extra_binaries;

    struct Timestamps {  // [timestamps]
        bool enabled = false;
        std::string destination = "/var/log/urunc/timestamps.log";
        bool operator==(const Timestamps &) const = default;
    } timestamps;

    struct SnapshotView {  // [snapshot_view]
        // Where a snapshotView may lie. Empty (the default): only under views_dir, where
        // urunc-view-shim mounts the views; never "anywhere" (["/"] says that explicitly).
        std::vector<std::string> allowed_prefixes;
        std::string views_dir = "/run/urunc/views";  // urunc-view-shim's mounts
        bool operator==(const SnapshotView &) const = default;

        // allowed_prefixes, or {views_dir} when that list is empty.
        std::vector<std::string> effective_prefixes() const;
    } snapshot_view;

    struct ViewShim {                    // [view_shim]: read by urunc-view-shim only
        std::string containerd_address;  // empty: discovered (docs/snapshot-view.md)
        std::string urunc_path;          // empty: `urunc` next to the shim, else in PATH
        bool operator==(const ViewShim &) const = default;
    } view_shim;

    struct Runtime {                     // [runtime]
        bool require_kvm = false;        // true: no TCG fallback, missing KVM is an error
        std::string runc_path = "runc";  // delegate for non-unikernel bundles (PATH lookup)
        // Where the VMM's memory_overhead_mib goes: "reserve" (out of the container's limit)
        // or "add" (on top of it, the guest gets the whole limit).
        std::string memory_overhead = "reserve";
        // Where answers computed from host files are kept (rootfs/file_cache.hpp): the
        // loader's list of a dynamic VMM's libraries. "" turns the cache off.
        std::string cache_dir = "/var/cache/urunc";
        bool operator==(const Runtime &) const = default;
    } runtime;

    std::string source;  // the file read, or "" for built-in defaults

    bool operator==(const HostConfig &) const = default;

    static std::map<std::string, MonitorConfig> default_monitors();
};

// $URUNC_CONFIG (if set and non-empty) names the file, else /etc/urunc/config.toml.
// A missing file gives the defaults; any other read error, malformed TOML or a wrong type
// throws Error "config `<file>`: line N: `<key>`: <reason>". Unknown keys are ignored.
HostConfig load_host_config();

// Parse TOML text over the defaults; `name` is used in errors and as `source`.
HostConfig parse_host_config(std::string_view toml, const std::string &name);

// JSON form for state.json. from_json overlays on defaults (state written by an older
// version keeps working) and throws Error on malformed input or wrong types.
std::string host_config_to_json(const HostConfig &c);
HostConfig host_config_from_json(std::string_view json);

}  // namespace urunc::oci
