// pause/resume of a unikernel: the cgroup freezer on the VMM's cgroup, as runc does for any
// container. The VMM (and with it the guest) stops being scheduled; the guest's clock jumps
// when it is thawed, as a suspended VM's does.
#include "container/verbs.hpp"

#include "base/error.hpp"
#include "base/log.hpp"
#include "linux/cgroup.hpp"
#include "linux/cgroup_freezer.hpp"
#include "container/state_store.hpp"

namespace urunc::container {
using oci::State;
using oci::Status;
using linux::Freezer;
using linux::cgroup_from_json;
using linux::find_freezer;
using linux::freeze;
using linux::thaw;

namespace {

struct Loaded {
    StateDir dir;
    State st;
    Status status;
};

Loaded load(const Globals &g, const std::string &id)
{
    auto dir = StateDir::open(g.root, id);
    if (!dir || !dir->has_state())
        throw Error("container does not exist");
    State st = dir->load();
    Status s = live_status(st, dir->path());
    return {std::move(*dir), std::move(st), s};
}

Freezer freezer_of(const State &st, const std::string &verb)
{
    if (st.cgroup.empty())
        throw Error(verb + ": container " + st.id + " has no cgroup to freeze");
    Freezer f = find_freezer(cgroup_from_json(st.cgroup).all_dirs);
    if (f.kind == Freezer::Kind::none)
        throw Error(verb + ": container " + st.id +
                    ": no cgroup freezer (neither a v1 freezer "
                    "hierarchy nor cgroup2 cgroup.freeze) in its cgroup");
    return f;
}

}  // namespace

int pause(const Globals &g, const std::string &id)
{
    Loaded l = load(g, id);
    // runc pauses created and running containers; anything else is "not running".
    if (l.status != Status::running && l.status != Status::created)
        throw Error("container not running");
    freeze(freezer_of(l.st, "pause"));
    log::debug("container {}: frozen", id);
    return 0;
}

int resume(const Globals &g, const std::string &id)
{
    Loaded l = load(g, id);
    if (l.status != Status::paused)
        throw Error("container not paused");
    thaw(freezer_of(l.st, "resume"));
    log::debug("container {}: thawed", id);
    return 0;
}

}  // namespace urunc::container
