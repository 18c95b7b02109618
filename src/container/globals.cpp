// The global flags every verb shares: logging and the state root.
#include "container/lifecycle.hpp"

#include "base/error.hpp"
#include "base/log.hpp"

#include <unistd.h>

namespace urunc::oci {

void apply_global_flags(Globals &g, const GlobalFlags &f)
{
    if (f.log_format != "text" && f.log_format != "json")
        throw Error("invalid log-format: " + f.log_format);
    log::setup({f.log_file, f.log_format == "json", f.debug ? log::Level::debug : log::Level::info});
    if (g.root.empty() || g.root == "/")
        throw Error("option --root argument should not be set to /");
    if (g.root[0] != '/') {
        char cwd[4096];
        if (!::getcwd(cwd, sizeof cwd))
            throw sys_error("getcwd");
        g.root = std::string(cwd) + "/" + g.root;
    }
}

} // namespace urunc::oci
