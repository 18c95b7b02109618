// Internal building blocks shared by the verbs (run = create + start + wait + delete).
#pragma once

#include "container/lifecycle.hpp"
#include "base/fd.hpp"
#include "container/state_store.hpp"
#include "oci/spec.hpp"

#include <sys/types.h>

#include <string>

namespace urunc::container {

struct Created {
    pid_t pid = -1;
    std::string state_dir;
    UniqueFd console;  // the pty master when CreateOptions::keep_console
    // The read end of the exec fifo when CreateOptions::start_at_once took effect: the init
    // is not parked, it is already on its way to the VMM's execve.
    UniqueFd exec_fifo;
};

Created create_container(const Globals &g, const CreateOptions &o);
void start_container(const Globals &g, const std::string &id);
// The rest of a start for a container created with start_at_once: the init's exec report
// from `exec_fifo`, the network it reports, the poststart hooks. The VMM may have run and
// even exited by now: its status is not checked.
// Returns the container's state and spec as start left them, for run's delete.
struct Started {
    oci::State state;
    oci::Spec spec;
};
Started finish_started(const Globals &g, const std::string &id, UniqueFd exec_fifo);
// Remove everything a container created. Best effort: returns all errors joined ("" = ok).
// `spec`: the container's spec when the caller has it (else read from the state dir).
std::string destroy(StateDir &dir, const oci::State &st, const oci::Spec *spec = nullptr);
// run's delete once it has reaped the VMM: from the state and spec it already holds, without
// reading them again. A state dir already gone (a `delete` from elsewhere) is fine.
void remove_reaped(const Globals &g, const Started &s);
// Wait for a pid that is not our child to exit (pidfd + poll). True if it is gone.
bool wait_gone(pid_t pid, unsigned long long start_time, int timeout_ms);

// The preamble of every verb on one container: an invalid id is an error, and a container
// runc created under the same root is handed to runc (this process is replaced by runc).
void ours_or_runc(const Globals &g, const std::string &id);

}  // namespace urunc::container
