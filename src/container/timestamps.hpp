// Built-in timestamps (upstream's TS00..TS18), appended as JSON lines with nanosecond Unix
// times. Off by default and free when off: one branch per mark.
// Enabled by [timestamps] enabled = true, or URUNC_TIMESTAMPS=1 (destination then
// URUNC_TIMESTAMPS_FILE, else the configured one).
#pragma once

#include <string>

namespace urunc::container::ts {

// Remember "now" as the invocation time (TS00 / TS11); call first thing in main.
void invoked();
// Open the destination (O_APPEND, O_CLOEXEC) if enabled. The fd survives into the init.
void configure(bool enabled, const std::string &destination, const std::string &container_id);
// The destination fd (-1 when off): the init keeps it across its fd clean-up.
int fd();
// The steps, in upstream's order: TS<n> is step n. Each step's name (kNames in
// timestamps.cpp, e.g. "CR.received_pids") is its timestampName; CR = create, RX = the
// container init, ST = start, DL = delete.
enum class Step : int {
    cr_invoked = 0,
    cr_unikontainer_created = 1,
    cr_initial_setup = 2,
    cr_start_reexec = 3,    // create: about to clone the init
    rx_create_invoked = 4,  // init: first thing
    rx_close_pipes_and_setup_base = 5,
    cr_received_pids = 6,  // create: init reported ns_ready
    cr_hooks_executed = 7,
    cr_sent_ack = 8,  // create: sent the second go
    rx_received_ack = 9,
    cr_terminated = 10,
    st_invoked = 11,
    st_unikontainer_created = 12,
    st_sent_start_msg = 13,      // start: exec fifo opened, waiting for the init
    rx_received_start_msg = 14,  // init: unparked by start
    rx_joined_netns = 15,
    rx_network_setup_completed = 16,
    rx_disk_setup_completed = 17,
    rx_execve_hypervisor = 18,
    // Not upstream timestamps (never written): steps of delete, for the test kill hook.
    dl_invoked = 19,
    dl_killed = 20,
    dl_cgroup_removed = 21,
    dl_state_removed = 22,
};

// Append one line for the step (TS00..TS18); TS00 and TS11 use the invocation time. The
// delete steps are never written, only seen by the test builds' kill hook
// (URUNC_TEST_KILL_AT=<step name or number>).
void mark(Step step);

}  // namespace urunc::container::ts
