// Built-in timestamps (upstream's TS00..TS18), appended as JSON lines with nanosecond Unix
// times. Off by default and free when off: one branch per mark.
// Enabled by [timestamps] enabled = true, or URUNC_TIMESTAMPS=1 (destination then
// URUNC_TIMESTAMPS_FILE, else the configured one).
#pragma once

#include <string>

namespace urunc::oci::ts {

// Remember "now" as the invocation time (TS00 / TS11); call first thing in main.
void invoked();
// Open the destination (O_APPEND, O_CLOEXEC) if enabled. The fd survives into the init.
void configure(bool enabled, const std::string &destination, const std::string &container_id);
// The destination fd (-1 when off): the init keeps it across its fd clean-up.
int fd();
// Append one line for TS<id>; TS00 and TS11 use the invocation time. Ids 19..22 are steps
// of delete: never written, only seen by the test builds' kill hook (URUNC_TEST_KILL_AT).
void mark(int id);

} // namespace urunc::oci::ts
