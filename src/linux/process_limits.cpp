#include "linux/process_limits.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace urunc::linux {
using oci::Rlimit;
using oci::Spec;

namespace {

bool apparmor_enabled()
{
    try {
        return trim(read_file("/sys/module/apparmor/parameters/enabled")) == "Y";
    } catch (const Error &) {
        return false;
    }
}

bool selinux_enabled() { return path_exists("/sys/fs/selinux/enforce"); }

void write_proc(const std::string &path, const std::string &value)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd)
        throw sys_error("open `" + path + "`");
    if (::write(fd.get(), value.data(), value.size()) < 0)
        throw sys_error("write `" + value + "` to `" + path + "`");
}

}  // namespace

std::string sysctl_namespace(std::string_view key)
{
    static const char *ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                "kernel.shmmni", "kernel.shm_rmid_forced"};
    for (const char *k : ipc)
        if (key == k)
            return "ipc";
    if (starts_with(key, "fs.mqueue."))
        return "ipc";
    if (starts_with(key, "net."))
        return "network";
    if (key == "kernel.hostname" || key == "kernel.domainname")
        return "uts";
    return "";
}

void validate_sysctls(const std::map<std::string, std::string> &sysctl,
                      const std::set<std::string> &own)
{
    for (const auto &[key, value] : sysctl) {
        for (const auto &part : split(key, '.'))
            if (part.empty() || part == ".." || part.find('/') != std::string::npos)
                throw Error("linux.sysctl: `" + key + "` is not a valid sysctl name", EINVAL);
        std::string ns = sysctl_namespace(key);
        if (ns.empty())
            throw Error("linux.sysctl: `" + key +
                            "` is not in a separate kernel namespace: "
                            "setting it would change the host",
                        EPERM);
        if (!own.count(ns))
            throw Error("linux.sysctl: `" + key + "` needs the container's own " + ns +
                            " namespace (linux.namespaces)",
                        EPERM);
    }
}

void write_sysctls(const std::map<std::string, std::string> &sysctl)
{
    for (const auto &[key, value] : sysctl) {
        std::string path = "/proc/sys/" + key;
        for (size_t i = 10; i < path.size(); ++i)
            if (path[i] == '.')
                path[i] = '/';
        try {
            write_proc(path, value);
        } catch (const Error &e) {
            throw Error("linux.sysctl `" + key + "`: " + e.what());
        }
    }
}

void apply_rlimits(const std::vector<Rlimit> &rlimits)
{
    for (const auto &r : rlimits) {
        struct rlimit rl {
            static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)
        };
        if (::setrlimit(r.resource, &rl) < 0)
            throw sys_error("process.rlimits: set " + r.name + " to " + std::to_string(r.soft) +
                            "/" + std::to_string(r.hard));
    }
}

void write_oom_score_adj(int value)
{
    write_proc("/proc/self/oom_score_adj", std::to_string(value));
}

void check_lsm_labels(const Spec &s)
{
    if (!s.apparmor_profile.empty() && !apparmor_enabled())
        log::warn("process.apparmorProfile `{}` not applied: AppArmor is not enabled on this host",
                  s.apparmor_profile);
    if (!s.selinux_label.empty() && !selinux_enabled())
        log::warn("process.selinuxLabel `{}` not applied: SELinux is not enabled on this host",
                  s.selinux_label);
}

void set_exec_labels(const Spec &s)
{
    if (!s.apparmor_profile.empty() && apparmor_enabled()) {
        // The per-LSM file where the kernel has it (several LSMs stacked), else the shared one.
        std::string f = path_exists("/proc/self/attr/apparmor/exec")
                            ? "/proc/self/attr/apparmor/exec"
                            : "/proc/self/attr/exec";
        write_proc(f, "exec " + s.apparmor_profile);
    }
    if (!s.selinux_label.empty() && selinux_enabled())
        write_proc("/proc/self/attr/exec", s.selinux_label);
}

}  // namespace urunc::linux
