// urunc-view-shim: what containerd's runc v2 shim runs as its runtime binary (BinaryName,
// `ctr run --runc-binary`). It gives urunc a read-only snapshot view of the container's
// image, shared by every container of that image, so the boot artifacts are used in place
// instead of copied. Every verb but create and delete is urunc at once (same argv); create
// and delete add the view's lifecycle around urunc. The view never fails a container: any
// error is one warning line in --log and urunc runs without it. docs/snapshot-view.md.
#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "oci/host_config.hpp"
#include "oci/spec.hpp"
#include "oci/unikernel_config.hpp"
#include "rootfs/safe_open.hpp"
#include "shim/naming.hpp"
#include "shim/runc_args.hpp"
#include "shim/view_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using namespace urunc;
using namespace urunc::shim;

// The host config, or its defaults when it cannot be read (urunc itself reports that).
oci::HostConfig host_config()
{
    try {
        return oci::load_host_config();
    } catch (const Error &) {
        return oci::HostConfig{};
    }
}

bool executable(const std::string &p) { return !p.empty() && ::access(p.c_str(), X_OK) == 0; }

// urunc: the host config's view_shim.urunc_path; else `urunc` in the shim's own directory;
// else `urunc` in PATH.
std::string find_urunc(const oci::HostConfig &host)
{
    if (!host.view_shim.urunc_path.empty())
        return host.view_shim.urunc_path;
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        std::string dir(self, static_cast<size_t>(n));
        dir = dir.substr(0, dir.rfind('/'));
        if (executable(dir + "/urunc"))
            return dir + "/urunc";
    }
    const char *path = std::getenv("PATH");
    for (const auto &d : split(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ':'))
        if (!d.empty() && d[0] == '/' && executable(d + "/urunc"))
            return d + "/urunc";
    return "urunc";
}

std::vector<char *> c_argv(std::vector<std::string> &argv)
{
    std::vector<char *> out;
    for (auto &a : argv)
        out.push_back(a.data());
    out.push_back(nullptr);
    return out;
}

[[noreturn]] void exec_urunc(const std::string &urunc, std::vector<std::string> argv)
{
    argv[0] = urunc;
    auto cv = c_argv(argv);
    ::execv(urunc.c_str(), cv.data());
    std::string msg = "urunc-view-shim: exec `" + urunc + "`: " + std::strerror(errno);
    log::fatal(msg);
    std::_Exit(1);
}

// fork + exec + wait: urunc's own exit status (128 + signal when killed).
int run_urunc(const std::string &urunc, std::vector<std::string> argv)
{
    argv[0] = urunc;
    auto cv = c_argv(argv);
    pid_t pid = ::fork();
    if (pid < 0)
        throw sys_error("fork");
    if (pid == 0) {
        ::execv(urunc.c_str(), cv.data());
        std::fprintf(stderr, "urunc-view-shim: exec `%s`: %s\n", urunc.c_str(), std::strerror(errno));
        std::_Exit(127);
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            throw sys_error("wait for urunc");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// The same decision as urunc's: a unikernel when the annotations (a snapshotView aside,
// which only the shim sets) or the image's urunc.json say so; a CRI sandbox never is.
bool is_unikernel(oci::Spec spec)
{
    if (auto it = spec.annotations.find("io.kubernetes.cri.container-type");
        it != spec.annotations.end() && it->second == "sandbox")
        return false;
    spec.annotations.erase(std::string(kViewAnnotation));
    auto from_annotations = oci::config_from_annotations(spec.annotations);
    std::optional<std::string> json;
    if (!from_annotations || !oci::complete(*from_annotations)) {
        UniqueFd root(::open(spec.root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (root) {
            try {
                UniqueFd f = rootfs::open_in_root(root.get(), "urunc.json", O_RDONLY | O_CLOEXEC);
                struct stat st;
                if (::fstat(f.get(), &st) == 0 && S_ISREG(st.st_mode))
                    json = read_fd(f.get(), spec.root_path + "/urunc.json");
            } catch (const Error &e) {
                if (e.code() != ENOENT)
                    throw;
            }
        }
    }
    return oci::resolve(from_annotations, json).has_value();
}

std::string absolute(const std::string &p)
{
    if (!p.empty() && p[0] == '/')
        return p;
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd))
        throw sys_error("getcwd");
    return p.empty() ? std::string(cwd) : join_path(cwd, p);
}

std::string parent_address_source;

std::string containerd_address(const oci::HostConfig &host)
{
    std::vector<std::string> parent;
    try {
        parent = split_cmdline(read_file("/proc/" + std::to_string(::getppid()) + "/cmdline"));
    } catch (const Error &) {
    }
    return find_containerd_address(host.view_shim.containerd_address, std::getenv("GRPC_ADDRESS"), parent,
                                   std::getenv("TTRPC_ADDRESS"), &parent_address_source);
}

[[noreturn]] void create(const RuncArgs &args, const std::vector<std::string> &argv,
                         const oci::HostConfig &host, const std::string &urunc)
{
    std::string bundle, config_path, text;
    oci::Spec spec;
    try {
        bundle = absolute(args.bundle);
        config_path = join_path(bundle, "config.json");
        text = read_file(config_path);
        spec = oci::parse_spec(text, bundle);
        if (!is_unikernel(spec))
            exec_urunc(urunc, argv);
    } catch (const Error &) {
        exec_urunc(urunc, argv);  // urunc reports whatever is wrong with the bundle
    }

    const auto t0 = std::chrono::steady_clock::now();
    auto ms = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
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
            log::info("snapshot view {} for container {} (containerd {} from {}; {} ms)", *view, args.id,
                      in.address, parent_address_source, ms());
    } catch (const std::exception &e) {
        view.reset();
        log::warn("snapshot view for container {}: {}; urunc copies the boot artifacts instead", args.id,
                  e.what());
        if (marker) {
            try {
                release_view(*marker);
            } catch (const std::exception &e2) {
                log::warn("snapshot view for container {}: undo: {} (its delete tries again)", args.id,
                          e2.what());
            }
        }
    }

    // The annotation is the shim's alone: the image's or the user's value never reaches urunc.
    try {
        std::string out = rewrite_view_annotation(text, view);
        if (out != text) {
            struct stat st;
            unsigned mode = ::stat(config_path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
            write_file_atomic(config_path, out, mode);
        }
    } catch (const std::exception &e) {
        log::warn("snapshot view for container {}: rewrite `{}`: {}", args.id, config_path, e.what());
    }
    step("create:annotation");
    exec_urunc(urunc, argv);
}

int remove(const RuncArgs &args, const std::vector<std::string> &argv, const oci::HostConfig &host,
           const std::string &urunc)
{
    // A container the shim never prepared: one stat, then urunc as if called directly.
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
        log::warn("snapshot view for container {}: release: {} (the next delete or create tries again)",
                  args.id, e.what());
    }
    return rc;
}

} // namespace

int main(int argc, char **argv)
{
    std::vector<std::string> av(argv, argv + argc);
    auto args = parse_runc_args(av);
    if (!args || (args->verb != "create" && args->verb != "delete")) {
        // Not ours: no containerd, no config.json; the host config only to find urunc.
        exec_urunc(find_urunc(host_config()), av);
    }
    oci::HostConfig host = host_config();
    std::string urunc = find_urunc(host);
    try {
        log::setup({args->log, args->log_format == "json", log::Level::info});
    } catch (const Error &) {
        exec_urunc(urunc, av);
    }
    if (args->verb == "create")
        create(*args, av, host, urunc);
    return remove(*args, av, host, urunc);
}
