// The cgroup freezer for pause/resume: v1 "freezer.state" (FROZEN/THAWED) or v2
// "cgroup.freeze" (1/0, completion seen in cgroup.events "frozen 1"). Works on the directory
// list a container recorded at create (Cgroup::all_dirs), so tests can hand it a fake tree.
#pragma once

#include "linux/namespace.hpp"

#include <string>
#include <vector>

namespace urunc::linux {

struct Freezer {
    enum class Kind { none, v1, v2 } kind = Kind::none;
    std::vector<std::string> dirs;  // the directories holding the freezer files
};

// v1 wins when the container has a freezer-controller directory (on a hybrid host runc
// freezes there too); else every cgroup2 directory with cgroup.freeze; else none.
Freezer find_freezer(const std::vector<std::string> &cgroup_dirs);

// True when every directory reports the frozen state (v1 FROZEN, v2 cgroup.freeze = 1 as
// runc reads it). A directory that vanished counts as not frozen.
bool is_frozen(const Freezer &f);

// Freeze and wait until the kernel reports it done (v1 FROZEN, v2 "frozen 1"), at most
// timeout_ms; on timeout or error the cgroup is thawed again and Error is thrown.
void freeze(const Freezer &f, int timeout_ms = 10000);

// Thaw and wait until it is reported; throws Error naming the file on failure.
void thaw(const Freezer &f, int timeout_ms = 10000);

}  // namespace urunc::linux
