#include "container/runc.hpp"

#include "container/lifecycle.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "oci/host_config.hpp"

#include <unistd.h>

#include <cstdlib>

namespace urunc::container {

std::string runc_binary()
{
    if (const char *e = std::getenv("URUNC_RUNC"); e && *e)
        return e;
    try {
        return host_config().runtime.runc_path;
    } catch (const Error &) {
        return "runc";
    }
}

void exec_runc(const std::vector<std::string> &argv)
{
    std::string bin = runc_binary();
    std::vector<std::string> args = argv;
    args[0] = bin;
    std::vector<char *> cargv;
    for (auto &a : args)
        cargv.push_back(a.data());
    cargv.push_back(nullptr);
    log::debug("not a unikernel: handing over to {}", argv_to_string(args));
    ::execvp(bin.c_str(), cargv.data());
    throw sys_error("exec runc `" + bin + "`");
}

}  // namespace urunc::container
