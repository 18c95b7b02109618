// delete: remove everything the container created; best effort past single failures.
#include "oci/container_ops.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "oci/cgroup.hpp"
#include "oci/hooks.hpp"
#include "oci/spec.hpp"

#include <signal.h>
#include <unistd.h>

namespace urunc::oci {

std::string destroy(StateDir &dir, const State &st)
{
    std::vector<std::string> errors;
    std::optional<Spec> spec;
    try {
        spec = parse_spec(read_file(dir.file("config.json")), st.bundle);
    } catch (const Error &e) {
        log::warn("container {}: no config snapshot, poststop hooks skipped: {}", st.id, e.what());
    }
    if (!st.cgroup.empty()) {
        try {
            std::string e = remove_cgroup(cgroup_from_json(st.cgroup));
            if (!e.empty())
                errors.push_back(e);
        } catch (const Error &e) {
            errors.push_back(e.what());
        }
    }
    if (!st.copy_dir.empty()) {
        std::string e = remove_tree(st.copy_dir);
        if (!e.empty())
            errors.push_back(e);
    }
    std::string e = dir.remove();
    if (!e.empty())
        errors.push_back(e);
    if (spec) {
        try {
            run_hooks(spec->hooks.poststop, "poststop", oci_state_json(st, Status::stopped, false), 0);
        } catch (const Error &he) {
            log::warn("container {}: {}", st.id, he.what());  // the spec says: warn and go on
        }
    }
    return join(errors, "; ");
}

int remove(const Globals &g, const std::string &id, bool force)
{
    if (!valid_id(id))
        throw Error("invalid container id `" + id + "`");
    if (is_runc_container(g, id))
        not_ours(g);
    auto dir = StateDir::open(g.root, id);
    if (!dir) {
        if (force)
            return 0;
        throw Error("container does not exist");
    }
    if (!dir->has_state()) {
        // A create that died before writing state: only the directory is left.
        std::string e = dir->remove();
        if (force)
            return 0;
        throw Error("container does not exist" + (e.empty() ? "" : " (" + e + ")"));
    }
    State st = dir->load();
    Status status = live_status(st, dir->path());
    bool alive = process_start_time(st.pid) == st.pid_start && st.pid > 0 && st.pid_start != 0;
    if (status == Status::running && !force)
        throw Error("cannot delete container " + id + " that is not stopped: running");
    if (alive) {
        ::kill(st.pid, SIGKILL);
        if (!wait_gone(st.pid, st.pid_start, 10000))
            throw Error("container " + id + ": pid " + std::to_string(st.pid) + " did not die after SIGKILL");
    }
    std::string errors = destroy(*dir, st);
    if (!errors.empty())
        throw Error("delete " + id + ": " + errors);
    return 0;
}

} // namespace urunc::oci
