// The runc command line that containerd's runc v2 shim (go-runc) passes to its BinaryName:
// `<bin> <global options> <verb> <verb options> <id>`. Only what the view shim needs is
// extracted; the argv itself is handed to urunc unchanged.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace urunc::shim {

struct RuncArgs {
    std::string root;        // --root (empty: not given)
    std::string log;         // --log
    std::string log_format;  // --log-format
    std::string verb;        // create, delete, start, ... (empty: none, e.g. --version)
    std::string bundle;      // create --bundle/-b (empty: the current directory)
    std::string id;          // the last positional argument of create/delete
    bool force = false;      // delete --force/-f
};

// Parses argv (argv[0] included). Go's flag syntax is accepted: -x or --x, -x=v or -x v.
// nullopt when the line cannot be understood: the caller hands it to urunc unchanged.
std::optional<RuncArgs> parse_runc_args(const std::vector<std::string> &argv);

}  // namespace urunc::shim
