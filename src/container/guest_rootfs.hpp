#pragma once

#include "container/launch.hpp"
#include "rootfs/mountinfo.hpp"
#include "rootfs/view.hpp"

#include <optional>
#include <string>

namespace urunc::container {

// Decide the guest rootfs and the artifact source; open (or, for a block rootfs without a
// view, copy) the artifacts. Fills the rootfs parts of `l`. Throws Error with the rule.
// `mi` is the phase's mount table; `view` the snapshot view if already validated.
void choose_guest_rootfs(Launch &l, const std::string &state_dir, rootfs::LazyMountInfo &mi,
                         std::optional<rootfs::SnapshotView> view = std::nullopt);

}  // namespace urunc::container
