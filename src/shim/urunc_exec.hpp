// What both halves of the view shim share: the host config, finding and running urunc,
// urunc's own unikernel detection, and finding the gRPC helper. None of it speaks gRPC, so
// the front binary (urunc-view-shim) that every runtime verb goes through stays small.
#pragma once

#include "oci/host_config.hpp"
#include "oci/spec.hpp"

#include <string>
#include <vector>

namespace urunc::shim {

// The host config, or its defaults when it cannot be read (urunc itself reports that).
oci::HostConfig host_config();

// urunc: the host config's view_shim.urunc_path; else `urunc` in the directory of the
// running binary; else `urunc` in PATH.
std::string find_urunc(const oci::HostConfig &host);

// The gRPC half, urunc-view-helper: next to the running binary (a build tree, or both
// installed in one directory), else the installed libexec path.
std::string find_helper();

// execv with argv[0] replaced by `path`. Returns only when exec failed (errno set).
void exec_argv(const std::string &path, std::vector<std::string> argv);

// urunc with the same argv (argv[0] replaced); on failure one fatal line and exit 1.
[[noreturn]] void exec_urunc(const std::string &urunc, std::vector<std::string> argv);

// fork + exec + wait: urunc's own exit status (128 + signal when killed).
int run_urunc(const std::string &urunc, std::vector<std::string> argv);

// The same decision as urunc's: a unikernel when the annotations (a snapshotView aside,
// which only the shim sets) or the image's urunc.json say so; a CRI sandbox never is.
bool is_unikernel(oci::Spec spec);

// <bundle>/config.json of a create, parsed; throws Error when it cannot be read.
struct Bundle {
    std::string dir, config_path, text;
    oci::Spec spec;
};
Bundle load_bundle(const std::string &bundle_arg);

// Replace config.json with `text` (temp file + rename), keeping its mode.
void rewrite_config(const Bundle &b, const std::string &text);

}  // namespace urunc::shim
