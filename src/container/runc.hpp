// Bundles that are not unikernels, and containers runc created, are runc's: hand over
// the same argv.
#pragma once

#include <string>
#include <vector>

namespace urunc::container {

// Path of the runc binary: $URUNC_RUNC, else host config [runtime] runc_path, else "runc".
std::string runc_binary();

// execvp runc with our argv (argv[0] replaced). Returns only by throwing.
[[noreturn]] void exec_runc(const std::vector<std::string> &argv);

}  // namespace urunc::container
