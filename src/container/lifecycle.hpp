// The verbs, as the CLI calls them. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace urunc::oci {

struct Globals {
    std::string root = "/run/urunc";
    bool systemd_cgroup = false;
    std::vector<std::string> argv;  // our full argv, for handing a bundle to runc
};

struct CreateOptions {
    std::string id;
    std::string bundle;          // "" = cwd
    std::string pid_file;
    std::string console_socket;
    bool no_pivot = false;
    bool no_new_keyring = false;
    bool keep_console = false;   // run in the foreground: keep the pty master and proxy it
};

int create(const Globals &g, const CreateOptions &o);
int start(const Globals &g, const std::string &id);
int run(const Globals &g, const CreateOptions &o, bool detach, bool keep);
int kill(const Globals &g, const std::string &id, const std::string &signal, bool all);
int remove(const Globals &g, const std::string &id, bool force);
int state(const Globals &g, const std::string &id);
int list(const Globals &g, const std::string &format, bool quiet);
int ps(const Globals &g, const std::string &id, const std::string &format,
       const std::vector<std::string> &ps_args);
int features();
std::string version_text();

} // namespace urunc::oci
