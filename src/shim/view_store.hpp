// The shared view of one committed snapshot: made or reused at create, pinned by each
// container that uses it, unmounted and removed when its last container is deleted.
// Every step is either idempotent or undone by release(), so a shim killed at any point
// leaves a state that the next release() of that container, or the next prepare() of that
// image, puts right (docs/snapshot-view.md, "Crash safety").
#pragma once

#include "shim/naming.hpp"

#include <optional>
#include <string>

namespace urunc::shim {

// What the shim did for one container, recorded before its first change in containerd.
struct Marker {
    std::string path;  // the marker file itself
    std::string address, ns, id, snapshotter, parent;
    ViewNames view;
};

std::string marker_to_json(const Marker &m);
Marker marker_from_json(const std::string &json, const std::string &path);  // throws Error
std::optional<Marker> read_marker(const std::string &path);  // nullopt: none; throws if malformed

struct PrepareInput {
    std::string views_dir, address, ns, id, root;
};

// Make or reuse the view of the container's committed parent, mount it read-only at its
// mountpoint, pin it on the container. Returns the mountpoint, or nullopt when the
// container has no snapshot (nothing to view: e.g. docker). Throws Error on any failure;
// `marker_out` is then set if a marker was written (the caller release()s it).
std::optional<std::string> prepare_view(const PrepareInput &in, std::optional<Marker> &marker_out);

// Unpin the container; under the view's lock, if no container pins the view any more,
// unmount it and remove the view snapshot (NotFound is fine); then remove the marker.
// Throws Error (the marker then stays for the next attempt).
void release_view(const Marker &m);

// The test-only step hook: in test builds, when the file named by
// URUNC_VIEW_SHIM_KILL_AT holds `name`, the file is removed and the shim SIGKILLs itself.
void step(const char *name);

}  // namespace urunc::shim
