// urunc-view-helper: the gRPC half of urunc-view-shim (front.cpp), run by it only for a
// create of a unikernel bundle and for a delete of a container it prepared, as
// `urunc-view-helper <urunc> <runtime argv...>`. create makes or reuses the shared view,
// names it in config.json and execs urunc; delete runs urunc's delete, then releases the
// view. The view never fails a container: any error is one warning line in --log and urunc
// runs without it. docs/snapshot-view.md.
#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "oci/host_config.hpp"
#include "shim/containerd_client.hpp"
#include "shim/naming.hpp"
#include "shim/runc_args.hpp"
#include "shim/urunc_exec.hpp"
#include "shim/view_store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace urunc;
using namespace urunc::shim;

std::string parent_address_source;
const auto helper_started = std::chrono::steady_clock::now();

std::string containerd_address(const oci::HostConfig &host)
{
    std::vector<std::string> parent;
    try {
        parent = split_cmdline(read_file("/proc/" + std::to_string(::getppid()) + "/cmdline"));
    } catch (const Error &) {
    }
    return find_containerd_address(host.view_shim.containerd_address, std::getenv("GRPC_ADDRESS"),
                                   parent, std::getenv("TTRPC_ADDRESS"), &parent_address_source);
}

[[noreturn]] void create(const RuncArgs &args, const std::vector<std::string> &argv,
                         const oci::HostConfig &host, const std::string &urunc)
{
    Bundle bundle;
    try {
        bundle = load_bundle(args.bundle);
    } catch (const Error &) {
        exec_urunc(urunc, argv);  // urunc reports whatever is wrong with the bundle
    }

    auto ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - helper_started)
            .count();
    };
    std::optional<std::string> view;
    std::optional<Marker> marker;
    PrepareInput in;
    in.views_dir = host.snapshot_view.views_dir;
    in.id = args.id;
    in.root = args.root;
    try {
        in.address = containerd_address(host);
        in.ns = find_namespace(std::getenv("NAMESPACE"), args.root);
        if (in.ns.empty())
            throw Error("no containerd namespace: neither NAMESPACE nor --root names one");
        view = prepare_view(in, marker);
        if (view)
            log::info(
                "snapshot view {} for container {} (containerd {} from {}; {} ms, {} containerd calls {} ms)",
                *view, args.id, in.address, parent_address_source, ms(), rpc_stats().calls,
                rpc_stats().time.count() / 1000);
    } catch (const std::exception &e) {
        view.reset();
        log::warn("snapshot view for container {}: {}; urunc copies the boot artifacts instead",
                  args.id, e.what());
        if (marker) {
            try {
                release_view(*marker);
            } catch (const std::exception &e2) {
                log::warn("snapshot view for container {}: undo: {} (its delete tries again)",
                          args.id, e2.what());
            }
        }
    }

    // The annotation is the shim's alone: the image's or the user's value never reaches urunc.
    try {
        std::string out = rewrite_view_annotation(bundle.text, view);
        if (out != bundle.text)
            rewrite_config(bundle, out);
    } catch (const std::exception &e) {
        log::warn("snapshot view for container {}: rewrite `{}`: {}", args.id, bundle.config_path,
                  e.what());
    }
    step("create:annotation");
    exec_urunc(urunc, argv);
}

int remove(const RuncArgs &args, const std::vector<std::string> &argv, const oci::HostConfig &host,
           const std::string &urunc)
{
    // The front saw a marker; a concurrent delete may have released it since.
    std::string marker_file = marker_path(host.snapshot_view.views_dir, args.root, args.id);
    struct stat st;
    if (::stat(marker_file.c_str(), &st) < 0)
        exec_urunc(urunc, argv);
    std::optional<Marker> marker;
    try {
        marker = read_marker(marker_file);
    } catch (const std::exception &e) {
        log::warn("snapshot view for container {}: {}", args.id, e.what());
    }
    int rc = run_urunc(urunc, argv);
    step("delete:urunc");
    if (!marker)
        return rc;
    // The view goes only when urunc's container is gone (a refused delete keeps using it).
    std::string state_dir = join_path(args.root.empty() ? "/run/urunc" : args.root, args.id);
    if (rc != 0 && path_exists(state_dir))
        return rc;
    try {
        release_view(*marker);
    } catch (const std::exception &e) {
        log::warn(
            "snapshot view for container {}: release: {} (the next delete or create tries again)",
            args.id, e.what());
    }
    return rc;
}

}  // namespace

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(
            stderr,
            "urunc-view-helper: run by urunc-view-shim only: urunc-view-helper <urunc> <argv...>\n");
        return 2;
    }
    std::string urunc = argv[1];
    std::vector<std::string> av(argv + 2, argv + argc);
    auto args = parse_runc_args(av);
    if (!args || (args->verb != "create" && args->verb != "delete"))
        exec_urunc(urunc, av);
    oci::HostConfig host = host_config();
    try {
        log::setup({args->log, args->log_format == "json", log::Level::info});
    } catch (const Error &) {
        exec_urunc(urunc, av);
    }
    if (args->verb == "create")
        create(*args, av, host, urunc);
    return remove(*args, av, host, urunc);
}
