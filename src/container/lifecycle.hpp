// The verbs, as the CLI calls them. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace urunc::oci {
struct HostConfig;
}

namespace urunc::container {

struct Globals {
    std::string root = "/run/urunc";
    bool systemd_cgroup = false;
    std::vector<std::string> argv;  // our full argv, for handing a bundle to runc
};

struct CreateOptions {
    std::string id;
    std::string bundle;  // "" = cwd
    std::string pid_file;
    std::string console_socket;
    bool no_pivot = false;
    bool no_new_keyring = false;
    bool keep_console = false;  // run in the foreground: keep the pty master and proxy it
    // run: the init goes on to the VMM as soon as it is ready, without waiting for a start
    // (create opens start's end of the exec fifo; Created::exec_fifo). Not when the spec has
    // startContainer hooks: those run between create and the VMM.
    bool start_at_once = false;
};

// The global flags as given, before apply_global_flags() checks them.
struct GlobalFlags {
    std::string log_file;  // --log ("" = stderr)
    std::string log_format = "text";
    bool debug = false;
};
// --log/--log-format/--debug (else the host config's [log] level) set up the log; --root must not be "/" and becomes absolute.
void apply_global_flags(Globals &g, const GlobalFlags &f);

// The host config of this command (URUNC_CONFIG or /etc/urunc/config.toml), read and parsed
// once: the log level, create, the view check and the runc lookup all ask for it. A file
// that cannot be read or is refused gives the same error to every caller.
const oci::HostConfig &host_config();

struct RunOptions {
    CreateOptions create;
    bool detach = false;
    bool keep = false;
};
struct StartOptions {
    std::string id;
};
struct StateOptions {
    std::string id;
};
struct KillOptions {
    std::string id;
    std::string signal;  // name or number; "" = SIGTERM
    bool all = false;
};
struct DeleteOptions {
    std::string id;
    bool force = false;
};
struct ListOptions {
    std::string format = "table";
    bool quiet = false;
};
struct PsOptions {
    std::string id;
    std::string format = "table";
    std::vector<std::string> ps_args;  // handed to ps(1)
};
// `ps [--format F] ID [--] [ps options]`: what follows the verb's own flags, as runc reads it.
PsOptions ps_options(const std::string &format, std::vector<std::string> rest);

int create(const Globals &g, const CreateOptions &o);
int start(const Globals &g, const StartOptions &o);
int run(const Globals &g, const RunOptions &o);
int kill(const Globals &g, const KillOptions &o);
int remove(const Globals &g, const DeleteOptions &o);
int state(const Globals &g, const StateOptions &o);
int list(const Globals &g, const ListOptions &o);
int ps(const Globals &g, const PsOptions &o);
int features();
std::string version_text();

}  // namespace urunc::container
