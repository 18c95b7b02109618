// urunc-view-shim: what containerd's runc v2 shim runs as its runtime binary (BinaryName,
// `ctr run --runc-binary`). It gives urunc a read-only snapshot view of the container's
// image, shared by every container of that image, so the boot artifacts are used in place
// instead of copied (docs/snapshot-view.md).
//
// This is the front half, and the only one most calls see: it links no gRPC, because the
// runc v2 shim runs its binary for every verb (state, start, kill, ...), and loading
// gRPC, protobuf and abseil costs about as much again as urunc itself. It execs
//   * urunc, same argv, for every verb but create and delete; for a create whose bundle is
//     not a unikernel; for a delete of a container the helper never prepared (no marker);
//   * urunc-view-helper (the gRPC half: containerd, the view) for the rest, with urunc's
//     path first: `urunc-view-helper <urunc> <argv...>`.
// A helper that cannot be run never fails a container: one warning, then urunc.
#include "base/error.hpp"
#include "base/log.hpp"
#include "shim/naming.hpp"
#include "shim/runc_args.hpp"
#include "shim/urunc_exec.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

using namespace urunc;
using namespace urunc::shim;

namespace {

// create: is there a view to make? Only for a readable unikernel bundle; anything wrong
// with the bundle is urunc's to report.
bool wants_view(const RuncArgs &args)
{
    try {
        return is_unikernel(load_bundle(args.bundle).spec);
    } catch (const Error &) {
        return false;
    }
}

[[noreturn]] void exec_helper(const std::string &urunc, std::vector<std::string> argv,
                              const RuncArgs &args)
{
    std::string helper = find_helper();
    std::vector<std::string> hargv{helper, urunc};
    hargv.insert(hargv.end(), argv.begin(), argv.end());
    exec_argv(helper, hargv);
    int err = errno;
    try {
        log::setup({args.log, args.log_format == "json", log::Level::info});
        log::warn("snapshot view for container {}: run `{}`: {}; urunc {}", args.id, helper,
                  std::strerror(err),
                  args.verb == "create" ? "copies the boot artifacts instead"
                                        : "deletes it without releasing its view");
    } catch (const Error &) {
    }
    // The annotation is the shim's alone: without a view, a value from the image or the
    // user must not reach urunc either.
    if (args.verb == "create") {
        try {
            Bundle b = load_bundle(args.bundle);
            std::string out = rewrite_view_annotation(b.text, std::nullopt);
            if (out != b.text)
                rewrite_config(b, out);
        } catch (const Error &e) {
            log::warn("snapshot view for container {}: {}", args.id, e.what());
        }
    }
    exec_urunc(urunc, std::move(argv));
}

}  // namespace

int main(int argc, char **argv)
{
    std::vector<std::string> av(argv, argv + argc);
    auto args = parse_runc_args(av);
    oci::HostConfig host = host_config();
    std::string urunc = find_urunc(host);
    if (args && args->verb == "create" && wants_view(*args))
        exec_helper(urunc, std::move(av), *args);
    if (args && args->verb == "delete") {
        // A container the helper never prepared: one stat, then urunc as if called directly.
        struct stat st;
        if (::stat(marker_path(host.snapshot_view.views_dir, args->root, args->id).c_str(), &st) ==
            0)
            exec_helper(urunc, std::move(av), *args);
    }
    exec_urunc(urunc, std::move(av));
}
