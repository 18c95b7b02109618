#include "shim/urunc_exec.hpp"

#include "base/error.hpp"
#include "base/subprocess.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "oci/unikernel_config.hpp"
#include "rootfs/safe_open.hpp"
#include "shim/naming.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifndef URUNC_VIEW_HELPER_PATH
#define URUNC_VIEW_HELPER_PATH "/usr/local/libexec/urunc/urunc-view-helper"
#endif

namespace urunc::shim {

namespace {

bool executable(const std::string &p) { return !p.empty() && ::access(p.c_str(), X_OK) == 0; }

// The directory of the running binary, or "" when /proc/self/exe cannot be read.
std::string self_dir()
{
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return {};
    std::string dir(self, static_cast<size_t>(n));
    return dir.substr(0, dir.rfind('/'));
}

std::vector<char *> c_argv(std::vector<std::string> &argv)
{
    std::vector<char *> out;
    for (auto &a : argv)
        out.push_back(a.data());
    out.push_back(nullptr);
    return out;
}

}  // namespace

oci::HostConfig host_config()
{
    try {
        return oci::load_host_config();
    } catch (const Error &) {
        return oci::HostConfig{};
    }
}

std::string find_urunc(const oci::HostConfig &host)
{
    if (!host.view_shim.urunc_path.empty())
        return host.view_shim.urunc_path;
    if (std::string dir = self_dir(); executable(dir + "/urunc"))
        return dir + "/urunc";
    const char *path = std::getenv("PATH");
    for (const auto &d : split(
             path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             ':'))
        if (!d.empty() && d[0] == '/' && executable(d + "/urunc"))
            return d + "/urunc";
    return "urunc";
}

std::string find_helper()
{
#ifdef URUNC_VIEW_SHIM_TEST_HOOKS
    // Test builds only: the file named by URUNC_VIEW_SHIM_HELPER_AT, when it exists, holds
    // the helper's path (the e2e test of a helper that cannot be run).
    if (const char *file = std::getenv("URUNC_VIEW_SHIM_HELPER_AT"); file && *file) {
        try {
            return std::string(trim(read_file(file)));
        } catch (const Error &) {
        }
    }
#endif
    if (std::string dir = self_dir(); executable(dir + "/urunc-view-helper"))
        return dir + "/urunc-view-helper";
    return URUNC_VIEW_HELPER_PATH;
}

void exec_argv(const std::string &path, std::vector<std::string> argv)
{
    argv[0] = path;
    auto cv = c_argv(argv);
    ::execv(path.c_str(), cv.data());
}

void exec_urunc(const std::string &urunc, std::vector<std::string> argv)
{
    exec_argv(urunc, std::move(argv));
    log::fatal("urunc-view-shim: exec `" + urunc + "`: " + std::strerror(errno));
    std::_Exit(1);
}

int run_urunc(const std::string &urunc, std::vector<std::string> argv)
{
    argv[0] = urunc;
    ProcessOptions o;
    o.who = "urunc-view-shim";
    return shell_status(run_process(argv, o).status);
}

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

Bundle load_bundle(const std::string &bundle_arg)
{
    Bundle b;
    if (!bundle_arg.empty() && bundle_arg[0] == '/') {
        b.dir = bundle_arg;
    } else {
        char cwd[PATH_MAX];
        if (!::getcwd(cwd, sizeof cwd))
            throw sys_error("getcwd");
        b.dir = bundle_arg.empty() ? std::string(cwd) : join_path(cwd, bundle_arg);
    }
    b.config_path = join_path(b.dir, "config.json");
    b.text = read_file(b.config_path);
    b.spec = oci::parse_spec(b.text, b.dir);
    return b;
}

void rewrite_config(const Bundle &b, const std::string &text)
{
    struct stat st;
    unsigned mode = ::stat(b.config_path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
    write_file_atomic(b.config_path, text, mode);
}

}  // namespace urunc::shim
