// Placing the init process in its cgroup (v1, v2 and hybrid hosts), without systemd.
//
// Every mounted hierarchy gets the container's directory: each v1 controller hierarchy, the
// v1 named "name=systemd" hierarchy and cgroup2 (at /sys/fs/cgroup or /sys/fs/cgroup/unified).
// The shim reads /proc/<pid>/cgroup and looks for the container there (stats, OOM events), so
// every hierarchy must agree on the path.
#pragma once

#include "linux/namespace.hpp"

#include "oci/spec.hpp"

#include <sys/types.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace urunc::linux {

struct CgroupRequest {
    // linux.cgroupsPath. cgroupfs: "/a/b" is taken from each hierarchy's root, "a/b" from the
    // caller's own cgroup (as runc); "" means "<id>" relative. With `systemd`: "slice:prefix:name",
    // "" meaning "system.slice:runc:<id>".
    std::string path;
    bool systemd = false;      // --systemd-cgroup
    std::string id;            // container id
    oci::Resources resources;  // 0 / empty = no limit
};

struct Cgroup {
    std::string relative;               // resolve_cgroup_path() of the request
    std::vector<std::string> dirs;      // absolute dirs we created (removed at delete)
    std::vector<std::string> all_dirs;  // absolute dirs the pid was placed in
};

// The cgroup path the request names, cleaned ("." and ".." resolved, never above the root).
// cgroupfs form: the path as given ("/a/b" or relative "a/b"). systemd form
// "slice:prefix:name": "<expanded slice>/<prefix>-<name>.scope", a name ending in ".slice"
// being used as is; "a-b.slice" expands to "/a.slice/a-b.slice" and "-.slice" is the root.
// Deviation from runc: there is no systemd/D-Bus here, the unit is never registered with
// systemd; the same directories are made in cgroupfs by place_in_cgroup().
// Throws Error on a malformed path.
std::string resolve_cgroup_path(const CgroupRequest &r);

// One cgroup hierarchy: normally one cgroup/cgroup2 line of /proc/self/mountinfo.
struct CgroupMount {
    std::string mountpoint;  // /sys/fs/cgroup/memory
    std::string root;        // the hierarchy's dir mounted there ("/" normally)
    bool v2 = false;
    std::set<std::string> controllers;  // v1: "cpu", "memory", "name=systemd", ...
};

// The cgroup hierarchies mounted per a mountinfo text (proc(5) format), each once (a
// hierarchy bound at two places counts at the first). Only the cgroup lines are read, by
// hand: every create needs this, and libmount (with libblkid, libselinux and libpcre2,
// which it brings) would cost it ~1 MiB of resident pages and their loading. A cgroup line
// without its fields is an Error naming `name`.
std::vector<CgroupMount> cgroup_mounts(std::string_view mountinfo, const std::string &name);
// Those of our mount namespace (/proc/self/mountinfo).
std::vector<CgroupMount> mounted_cgroup_hierarchies();

// Make the cgroup in every mounted hierarchy, apply the resources where their controller is
// (an asked limit no hierarchy can apply is an error, as in runc), then move `pid` in.
// A pre-existing cgroup that holds processes is refused. On failure everything created is
// undone (the pid is moved back first) and Error is thrown.
Cgroup place_in_cgroup(pid_t pid, const CgroupRequest &r);
// The same on the hierarchies given (a test's fake cgroup2 tree in a tmpfs) instead of the
// mounted ones.
Cgroup place_in_cgroup(pid_t pid, const CgroupRequest &r,
                       const std::vector<CgroupMount> &hierarchies);

// Pids in the cgroup, over all hierarchies, sorted and without duplicates ("ps").
// A hierarchy dir that no longer exists contributes nothing.
std::vector<pid_t> cgroup_pids(const Cgroup &cg);

// rmdir the dirs we created (and any child cgroups left in them), deepest first. Kills
// nothing; a dir already gone is fine. Continues past failures: returns every error message
// joined by "; ", "" on success.
std::string remove_cgroup(const Cgroup &cg);

// {"relative": "...", "dirs": [...], "all_dirs": [...]} for state.json.
std::string cgroup_to_json(const Cgroup &cg);
Cgroup cgroup_from_json(std::string_view json);

}  // namespace urunc::linux
