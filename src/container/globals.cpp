// The global flags every verb shares: logging and the state root.
#include "container/lifecycle.hpp"

#include "base/error.hpp"
#include "base/log.hpp"
#include "oci/host_config.hpp"

#include <exception>
#include <optional>

#include <unistd.h>

namespace urunc::container {
using oci::HostConfig;
using oci::load_host_config;

namespace {

// --debug, else the host config's [log] level (read at each invocation, not the copy recorded
// at create: the level only decides what is logged). A file that cannot be read or is refused
// leaves info: create reports its error, and state, kill, delete keep working meanwhile.
log::Level log_level(const GlobalFlags &f)
{
    if (f.debug)
        return log::Level::debug;
    try {
        if (auto l = log::level_named(host_config().log.level))
            return *l;
    } catch (const Error &) {
    }
    return log::Level::info;
}

}  // namespace

const HostConfig &host_config()
{
    struct Once {
        std::optional<HostConfig> config;
        std::exception_ptr error;
    };
    static const Once once = [] {
        Once o;
        try {
            o.config = load_host_config();
        } catch (...) {
            o.error = std::current_exception();
        }
        return o;
    }();
    if (once.error)
        std::rethrow_exception(once.error);
    return *once.config;
}

void apply_global_flags(Globals &g, const GlobalFlags &f)
{
    if (f.log_format != "text" && f.log_format != "json")
        throw Error("invalid log-format: " + f.log_format);
    log::setup({f.log_file, f.log_format == "json", log_level(f)});
    if (g.root.empty() || g.root == "/")
        throw Error("option --root argument should not be set to /");
    if (g.root[0] != '/') {
        char cwd[4096];
        if (!::getcwd(cwd, sizeof cwd))
            throw sys_error("getcwd");
        g.root = std::string(cwd) + "/" + g.root;
    }
}

}  // namespace urunc::container
