// The one decision for the verbs urunc does not parse with CLI11: a container that is not a
// urunc container in this root (runc's, or none at all) is runc's business and runc gets the
// argv exactly as given, so its flags, output and exit code are runc's. A unikernel gets
// urunc's implementation, or one line saying why the verb has no meaning for it.
#include "container/verbs.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "container/container_ops.hpp"
#include "container/launch.hpp"
#include "container/runc.hpp"
#include "oci/spec.hpp"
#include "container/state_store.hpp"

#include <unistd.h>

namespace urunc::container {
using oci::RawCommand;
using oci::load_spec;
using oci::valid_id;

namespace {

// restore makes a new container from a bundle: the bundle decides, as for create.
bool bundle_is_unikernel(const RawCommand &c)
{
    std::string bundle = c.flag("bundle").value_or("");
    if (bundle.empty()) {
        char cwd[4096];
        if (!::getcwd(cwd, sizeof cwd))
            return false;
        bundle = cwd;
    }
    try {
        rootfs::LazyMountInfo mi;
        return detect_unikernel(load_spec(bundle), mi).has_value();
    } catch (const Error &) {
        return false;  // runc reports the broken bundle in its own words
    }
}

}  // namespace

int raw_verb(const Globals &g, const RawCommand &c)
{
    if (c.verb == "spec")
        return spec_command(g, c);
    if (c.verb == "restore") {
        if (bundle_is_unikernel(c))
            throw Error("restore is not supported for unikernel containers: urunc does not "
                        "checkpoint a VMM");
        exec_runc(g.argv);
    }
    std::string id = c.positionals.empty() ? "" : c.positionals.front();
    if (id.empty() || c.has("help") || !valid_id(id) || !is_urunc_state(g.root, id))
        exec_runc(g.argv);

    // A unikernel container of ours.
    if (!c.unknown.empty())
        throw Error(c.verb + ": unknown flag " + c.unknown.front() + " for a unikernel container");
    if (c.verb == "exec")
        throw Error("exec is not supported for unikernel containers: the VMM is the container's "
                    "only process, there is nothing to run a second process in (" +
                    id + ")");
    if (c.verb == "checkpoint")
        throw Error("checkpoint is not supported for unikernel containers: urunc does not "
                    "checkpoint a VMM (" +
                    id + ")");
    if (c.verb == "pause")
        return pause(g, id);
    if (c.verb == "resume")
        return resume(g, id);
    if (c.verb == "update")
        return update(g, id, c);
    if (c.verb == "events")
        return events(g, id, c);
    throw Error("unknown command " + c.verb);
}

}  // namespace urunc::container
