// Running OCI hooks (prestart, createRuntime, createContainer, startContainer, poststart,
// poststop) the way runc does.
#pragma once

#include "linux/namespace.hpp"

#include "oci/spec.hpp"

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace urunc::linux {

// A hook as config.json gives it: absolute path, full argv (args[0] is argv[0]; empty means
// {path}), env used only when the key was present (has_env), timeout in seconds (0 = none).
using Hook = oci::SpecHook;

// Runs the hooks of one stage one after the other, in array order; the first failure stops
// the stage and is thrown as
//   "error running <stage> hook #<N>: <path>: <why>, stdout: <out>, stderr: <err>"
// where N counts from 0 (as runc) and <why> is "exit status N", "signal: killed", or
// "hook ran past specified timeout of N.0s" (the hook is SIGKILLed then). Captured output is
// cut to 1 KiB per stream and put on one line.
//
// Each hook gets: stdin = state_json then EOF; stdout/stderr = pipes read by us (never our own
// stdout/stderr: a shim waits for every writer of those to close); no other fd of ours; the
// environment hook.env when has_env, else ours (runc: Go's exec with a nil Env inherits);
// our cwd; an empty signal mask and default dispositions.
//
// ns_pid > 0: the hook joins the ipc, uts, net, cgroup and pid namespaces of ns_pid (those
// that differ from ours) before exec. Not the mount namespace: the hook path resolves on the
// host, as runc does for the runtime-namespace stages.
void run_hooks(const std::vector<Hook> &hooks, std::string_view stage,
               const std::string &state_json, pid_t ns_pid = 0);

}  // namespace urunc::linux
