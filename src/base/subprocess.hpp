// Run a program and wait for it: the one fork+exec+wait of urunc's plain helpers (the loader's
// --list, ps, runc spec, urunc from the shim). Hooks have their own runner (linux/hooks):
// namespaces, a timeout and the state on stdin are theirs alone.
#pragma once

#include <string>
#include <vector>

namespace urunc {

struct ProcessOptions {
    enum class Out { inherit, capture, to_stderr };
    Out out = Out::inherit;
    bool quiet = false;           // stdin and stderr from/to /dev/null
    bool empty_env = false;       // no environment at all (nothing of ours reaches a loader)
    bool search_path = false;     // argv[0] looked up in PATH (execvp) instead of taken as a path
    size_t max_output = 1 << 20;  // captured bytes kept; the rest is read and dropped
    // Prefix of the line written to stderr when the exec itself fails ("urunc spec").
    std::string who;
};

struct ProcessResult {
    int status = 0;   // as waitpid(2) gives it
    std::string out;  // stdout, when captured
    bool ok() const;  // exited with 0
    // "exit 3", "signal 9 (Killed)"
    std::string describe() const;
};

// Throws Error (errno) only when the program cannot be started or waited for; its own
// failure is in the result. Exit 127 with a line on stderr when the exec fails.
ProcessResult run_process(const std::vector<std::string> &argv, const ProcessOptions &opts = {});

// The exit status a shell would report: the code, or 128 + the signal.
int shell_status(int status);

}  // namespace urunc
