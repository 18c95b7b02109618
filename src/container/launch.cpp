#include "container/launch.hpp"

#include "container/lifecycle.hpp"
#include "base/dir.hpp"
#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "net/guest_network.hpp"
#include "oci/guest_resources.hpp"
#include "container/guest_rootfs.hpp"
#include "rootfs/elf_libs.hpp"
#include "rootfs/file_cache.hpp"
#include "rootfs/initrd_append.hpp"
#include "rootfs/mountinfo.hpp"
#include "rootfs/safe_open.hpp"
#include "rootfs/view.hpp"
#include "vmm/kvm.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace urunc::container {
using oci::CpuPolicy;
using oci::GuestResources;
using oci::HostConfig;
using oci::MonitorConfig;
using oci::Namespace;
using oci::Spec;
using oci::UnikernelConfig;
using oci::complete;
using oci::config_from_annotations;
using oci::guest_resources;
using oci::memory_policy;
using oci::resolve;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// PATH lookup of a VMM binary; returns the absolute path or "".
std::string find_in_path(std::string_view name)
{
    const char *path = std::getenv("PATH");
    std::string p =
        path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const auto &dir : split(p, ':')) {
        if (dir.empty() || dir[0] != '/')
            continue;
        std::string cand = join_path(dir, name);
        if (::access(cand.c_str(), X_OK) == 0)
            return cand;
    }
    return {};
}

// Online CPUs: the most vCPUs a CPU quota can ask for.
unsigned host_cpus()
{
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<unsigned>(n) : 1u;
}

std::string vmm_binary(const vmm::Vmm &v, const MonitorConfig &mc)
{
    if (!mc.path.empty()) {
        if (mc.path[0] != '/')
            throw Error("monitor `" + std::string(v.name()) + "`: path `" + mc.path +
                        "` must be absolute");
        if (::access(mc.path.c_str(), X_OK) < 0)
            throw sys_error("vmm `" + std::string(v.name()) + "` binary `" + mc.path + "`");
        return mc.path;
    }
    std::string found = find_in_path(v.default_binary());
    if (found.empty())
        throw Error("vmm `" + std::string(v.name()) + "` not found: `" +
                    std::string(v.default_binary()) + "` is not in PATH (set [monitors." +
                    std::string(v.name()) + "] path)");
    return found;
}

// `path` with its directory canonical (its last component, e.g. a soname link, kept).
std::string canonical_dir(const std::string &path)
{
    std::string dir = path.substr(0, path.rfind('/'));
    char *real = ::realpath(dir.empty() ? "/" : dir.c_str(), nullptr);
    if (!real)
        throw sys_error("realpath `" + dir + "`");
    std::string out = std::string(real) + path.substr(path.rfind('/'));
    std::free(real);
    return out;
}

// What the loader resolves for the VMM (canonical paths): its libraries, and for a VMM that
// dlopens its accelerator modules (vmm.hpp) those modules, whose libraries are among `libs`,
// and the directories searched for them (not cached: what a cached answer depends on).
struct VmmLibraries {
    std::vector<std::string> libs, modules, module_dirs;
};

VmmLibraries resolve_libraries(const Launch &l, const std::string &interp)
{
    VmmLibraries r;
    r.libs = rootfs::needed_libraries({l.exec.binary});
    for (auto &lib : r.libs)
        lib = canonical_dir(lib);
    if (l.vmm->dlopens_accel_modules()) {
        auto &dirs = r.module_dirs;
        for (const auto &lib : r.libs)
            dirs.push_back(lib.substr(0, lib.rfind('/')) + "/qemu");
        std::sort(dirs.begin(), dirs.end());
        dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
        for (const auto &d : dirs) {
            UniqueDir dir = UniqueDir::open(d);
            while (const dirent *e = dir ? dir.next() : nullptr)
                if (starts_with(e->d_name, "accel-") &&
                    std::string_view(e->d_name).ends_with(".so"))
                    r.modules.push_back(d + "/" + e->d_name);
        }
        std::sort(r.modules.begin(), r.modules.end());
        r.modules.erase(std::unique(r.modules.begin(), r.modules.end()), r.modules.end());
        for (auto lib : rootfs::module_libraries(interp, r.modules)) {
            lib = canonical_dir(lib);
            if (std::find(r.libs.begin(), r.libs.end(), lib) == r.libs.end())
                r.libs.push_back(std::move(lib));
        }
    }
    // glibc itself dlopens libgcc_s for pthread_exit/pthread_cancel (stack unwinding); it is
    // in no DT_NEEDED list.
    for (const auto &lib : r.libs) {
        std::string dir = lib.substr(0, lib.rfind('/'));
        if (lib.ends_with("/libc.so.6") && path_exists(dir + "/libgcc_s.so.1") &&
            std::find(r.libs.begin(), r.libs.end(), dir + "/libgcc_s.so.1") == r.libs.end()) {
            r.libs.push_back(dir + "/libgcc_s.so.1");
            break;
        }
    }
    return r;
}

// What a cached answer depends on (file_cache.hpp): the binary, every object, the directories
// they were found in (a library or module added there changes its mtime) and the loader's
// own configuration.
std::vector<std::string> library_inputs(const Launch &l, const VmmLibraries &r)
{
    std::vector<std::string> w = {l.exec.binary, "/etc/ld.so.cache", "/etc/ld.so.preload"};
    std::vector<std::string> dirs = r.module_dirs;
    for (const auto *list : {&r.libs, &r.modules})
        for (const auto &p : *list) {
            w.push_back(p);
            dirs.push_back(p.substr(0, p.rfind('/')));
        }
    std::sort(dirs.begin(), dirs.end());
    dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
    w.insert(w.end(), dirs.begin(), dirs.end());
    return w;
}

// The VMM's libraries, exactly (not all of /usr/lib); for a VMM that dlopens its
// accelerator modules (vmm.hpp), those and their libraries too. The loader's answer is
// cached under [runtime] cache_dir (file_cache.hpp): a create of an unchanged VMM does not
// run the loader.
void add_libraries(Launch &l)
{
    std::string interp = rootfs::elf_interpreter(l.exec.binary);
    if (interp.empty())
        return;  // static
    rootfs::FileCache cache(l.host->runtime.cache_dir,
                            {"vmm-libraries 1", l.exec.binary,
                             l.vmm->dlopens_accel_modules() ? "modules" : "no modules"});
    VmmLibraries r;
    if (auto hit = cache.load()) {
        r.libs = std::move((*hit)["libs"]);
        r.modules = std::move((*hit)["modules"]);
    }
    if (r.libs.empty()) {
        r = resolve_libraries(l, interp);
        cache.store(library_inputs(l, r), {{"libs", r.libs}, {"modules", r.modules}});
    }
    // Each object is bound in the directory it really is in (/usr/lib/..., not /lib/...
    // through the merged-/usr link) and the host's top-level links are replicated, so both
    // spellings resolve in the root as on the host: the loader's, and QEMU's module
    // directory. A library is bound at its soname, the name the loader opens.
    for (const char *link : {"/lib", "/lib64", "/lib32", "/libx32"})
        l.root.links.push_back(link);
    l.root.binds.insert(l.root.binds.end(), r.modules.begin(), r.modules.end());
    l.root.libraries.insert(l.root.libraries.end(), r.libs.begin(), r.libs.end());
    // The loader in the root finds libraries outside its default directories through the
    // cache, as on the host.
    if (path_exists("/etc/ld.so.cache"))
        l.root.binds.push_back("/etc/ld.so.cache");
}

// virtiofs: the init starts virtiofsd inside the monitor root (init.cpp), so its binary
// and libraries are bound there as the VMM's are, /var/run (its pid file) leads to a
// writable /run, and the socket is made there, where the VMM's user cannot replace it.
void add_virtiofsd(Launch &l)
{
    const std::string &bin = l.host->extra_binaries.virtiofsd;
    if (::access(bin.c_str(), X_OK) < 0)
        throw sys_error("[extra_binaries.virtiofsd] path `" + bin + "`");
    l.root.binds.push_back(bin);
    auto libs = rootfs::needed_libraries({bin});
    for (auto &lib : libs)
        l.root.libraries.push_back(canonical_dir(lib));  // duplicates of the VMM's: bound once
    if (!libs.empty()) {
        for (const char *link : {"/lib", "/lib64", "/lib32", "/libx32"})
            l.root.links.push_back(link);
        if (path_exists("/etc/ld.so.cache"))
            l.root.binds.push_back("/etc/ld.so.cache");
    }
    l.root.links.push_back("/var/run");
    l.root.run_size = "1m";
}

// The guest and the VMM the config names.
void find_guest_and_vmm(Launch &l)
{
    const UnikernelConfig &c = l.config;
    l.guest = unikernels::find_guest(c.type);
    if (!l.guest)
        throw Error("annotation `com.urunc.unikernel.unikernelType`: unknown guest `" + c.type +
                    "`");
    l.vmm = vmm::find_vmm(c.hypervisor);
    if (!l.vmm)
        throw Error("annotation `com.urunc.unikernel.hypervisor`: unknown VMM `" + c.hypervisor +
                    "`");
}

// The host config's [monitors.<vmm>] table, or the defaults.
MonitorConfig monitor_config(const Launch &l)
{
    auto mit = l.host->monitors.find(std::string(l.vmm->name()));
    return mit != l.host->monitors.end() ? mit->second : MonitorConfig{};
}

// Acceleration: KVM when usable; QEMU falls back to TCG with one warning line naming why.
// True when the guest runs under KVM.
bool choose_kvm(const Launch &l)
{
    vmm::KvmProbe probe;
    if (l.vmm->uses_kvm() || l.vmm->needs_kvm())
        probe = vmm::probe_host_kvm();
    bool kvm = l.vmm->uses_kvm() && probe.usable;
    if (l.vmm->needs_kvm() && !probe.usable)
        throw Error(std::string(l.vmm->name()) +
                    " needs /dev/kvm, which cannot run a guest here: " + probe.why);
    if (l.vmm->uses_kvm() && !kvm) {
        if (l.host->runtime.require_kvm)
            throw Error(std::string(l.vmm->name()) +
                        " needs /dev/kvm ([runtime] require_kvm is set): " + probe.why);
        log::warn(
            "KVM is not usable on this host ({}): {} runs the guest under TCG (software emulation)",
            probe.why, l.vmm->name());
    }
    return kvm;
}

// What the guest is told: its argv, env, ids, cwd and the config's device names.
void set_guest_params(Launch &l)
{
    const Spec &s = l.spec;
    const UnikernelConfig &c = l.config;
    l.params.args = s.args;
    if (l.params.args.empty() && !c.cmdline.empty())
        l.params.args = split_ws(c.cmdline);
    l.params.env = s.env;
    l.params.monitor = std::string(l.vmm->name());
    l.params.vmm_traits = l.vmm->traits();
    l.params.version = c.version;
    l.params.solo5_net_dev = c.solo5_net_dev;
    l.params.solo5_blk_dev = c.solo5_blk_dev;
    l.params.uid = s.uid;
    l.params.gid = s.gid;
    l.params.cwd = s.cwd;
}

// The VMM plan: its binary, the guest's RAM and vCPUs, the cgroup's limits, KVM, seccomp,
// vhost, the data dir and the guest's command line.
void plan_vmm_exec(Launch &l, const MonitorConfig &mc, bool kvm)
{
    l.exec.binary = vmm_binary(*l.vmm, mc);
    // Guest RAM, vCPUs and the cgroup's memory limit: one policy (guest_resources.hpp).
    CpuPolicy cpu{mc.default_vcpus, host_cpus()};
    GuestResources res = guest_resources(
        l.spec.resources,
        memory_policy(*l.host, l.vmm->name(), l.guest->name(), l.guest->min_memory_mib()), cpu);
    l.exec.memory_mib = res.memory_mib;
    l.exec.vcpus = res.vcpus;
    l.cgroup_resources = res.cgroup;
    log::info(
        "guest resources: {} MiB of RAM, {} vCPU(s); memory cgroup limit {} ([runtime] memory_overhead = {}, "
        "[monitors.{}] memory_overhead_mib = {})",
        res.memory_mib, res.vcpus,
        res.cgroup.memory_limit > 0 ? std::to_string(res.cgroup.memory_limit / kMiB) + " MiB"
                                    : "none",
        l.host->runtime.memory_overhead, l.vmm->name(), mc.memory_overhead_mib);
    l.exec.kvm = kvm;
    l.exec.seccomp = l.spec.has_seccomp;
    l.exec.vhost = mc.vhost && path_exists("/dev/vhost-net");
    if (mc.vhost && !l.exec.vhost)
        log::warn("vhost requested for {} but /dev/vhost-net does not exist: not using vhost",
                  l.vmm->name());
    l.exec.data_dir = mc.data_path.empty() ? "/usr/share/qemu" : mc.data_path;
    for (const auto &w : l.guest->warnings(l.params))
        log::warn("{}", w);
    l.exec.guest_cmdline = l.guest->command_line(l.params);
}

// Files the guest needs inside its initrd rootfs (urunit's config): a new initrd in the
// state dir, the image's one followed by a cpio of the files. Only then is it copied.
void append_initrd_files(Launch &l, const std::string &state_dir)
{
    auto extra = l.guest->monitor_args(l.params).initrd_files;
    if (extra.empty() || l.exec.initrd.empty())
        return;
    for (auto &fb : l.file_binds) {
        if (fb.destination != l.exec.initrd)
            continue;
        std::string dest = state_dir + "/initrd";
        rootfs::write_initrd_with_files(fb.fd.get(), dest, extra);
        UniqueFd fd(::open(dest.c_str(), O_PATH | O_CLOEXEC));
        if (!fd)
            throw sys_error("open `" + dest + "`");
        fb = {std::move(fd), state_dir, "initrd", l.exec.initrd};
        log::info("initrd rootfs: {} file(s) appended for the guest in `{}`", extra.size(), dest);
    }
}

// Monitor root: the VMM binary, its libraries and data, the devices it needs.
void plan_monitor_root(Launch &l, const std::string &state_dir, bool kvm)
{
    l.root.root_dir = state_dir + "/root";
    l.root.binds.push_back(l.exec.binary);
    if (l.vmm->wants_libs())
        add_libraries(l);
    for (const std::string &d : l.vmm->firmware_dirs(l.exec))
        if (path_exists(d))
            l.root.data_dirs.push_back(d);
    if (l.exec.shared_fs == "virtiofs")
        add_virtiofsd(l);
    l.root.devices.insert(l.root.devices.end(), {"/dev/null", "/dev/zero", "/dev/urandom"});
    if (kvm)
        l.root.devices.push_back("/dev/kvm");
    if (l.exec.vhost)
        l.root.devices.push_back("/dev/vhost-net");
}

// The DNS server of the container's /etc/resolv.conf mount, if it names one.
void read_dns(Launch &l)
{
    for (const auto &m : l.spec.mounts) {
        if (m.destination != "/etc/resolv.conf" || m.source.empty() || m.source[0] != '/')
            continue;
        try {
            l.dns = net::first_ipv4_nameserver(read_regular_file(m.source, kMaxSmallFile));
        } catch (const Error &e) {
            // A FIFO, a device or a huge file is somebody's trap: refuse it. A missing
            // or unreadable one only costs the guest its DNS server.
            if (e.code() == EINVAL || e.code() == EISDIR || e.code() == EFBIG)
                throw wrap("mount `/etc/resolv.conf`", e);
            log::debug("resolv.conf `{}`: {}", m.source, e.what());
        }
    }
}

// Without a network namespace of its own the guest gets no network: we never create
// taps in the host's namespace.
void plan_network(Launch &l)
{
    const Spec &s = l.spec;
    l.network = s.find_namespace("network") != nullptr;
    l.host_netns = net::host_netns_ids();
    if (const Namespace *n = s.find_namespace("network"); n && !n->path.empty()) {
        // Joining the host's namespace by path is `--net=host`: the guest gets no network,
        // and the host's interfaces keep their traffic (no tap, no tc redirect).
        if (net::is_host_netns(net::netns_id(n->path), l.host_netns)) {
            l.network = false;
            log::warn("network namespace `{}` is the host's: the guest gets no network (no tap, no "
                      "tc redirect of the host's traffic), as with --net=host",
                      n->path);
        }
    }
    if (l.network) {
        l.root.devices.push_back("/dev/net/tun");
        read_dns(l);
    }
}

}  // namespace

std::optional<DetectedUnikernel> detect_unikernel(const Spec &spec, rootfs::LazyMountInfo &mi)
{
    // CRI copies pod annotations into the pod's pause container too: a sandbox is never
    // the unikernel, it is runc's.
    if (auto it = spec.annotations.find("io.kubernetes.cri.container-type");
        it != spec.annotations.end() && it->second == "sandbox")
        return std::nullopt;
    auto from_annotations = config_from_annotations(spec.annotations);
    std::optional<std::string> json;
    std::optional<rootfs::SnapshotView> view;
    if (!from_annotations || !complete(*from_annotations)) {
        // urunc.json at the top of the view (validated first) or of the rootfs, never
        // through a symlink out of it.
        // The view is read through the fd its validation opened: reopening it by path
        // would read whatever is mounted there by then, not what was checked.
        std::string dir = spec.root_path;
        UniqueFd rootfs_fd;
        int root = -1;
        if (from_annotations && !from_annotations->snapshot_view.empty()) {
            view =
                rootfs::validate_view(from_annotations->snapshot_view, spec.root_path,
                                      host_config().snapshot_view.effective_prefixes(), mi.get());
            dir = view->path;
            root = view->dirfd.get();
        } else {
            rootfs_fd.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            root = rootfs_fd.get();
        }
        if (root >= 0) {
            try {
                // Non-blocking: a FIFO named urunc.json must not park create forever.
                UniqueFd f = rootfs::open_in_root(root, "urunc.json",
                                                  O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                json = read_regular_fd(f.get(), dir + "/urunc.json", kMaxUruncJson);
            } catch (const Error &e) {
                if (e.code() != ENOENT)
                    throw;
            }
        }
    }
    auto cfg = resolve(from_annotations, json);  // validated there
    if (!cfg)
        return std::nullopt;
    return DetectedUnikernel{std::move(*cfg), std::move(view)};
}

vmm::Command build_command(const Launch &l)
{
    // The network is the guest's (params.net, set by the init at start): the VMM's plan
    // takes that one copy, so the two can never disagree.
    vmm::ExecPlan plan = l.exec;
    plan.net = l.params.net;
    return l.vmm->build(plan, *l.guest, l.params);
}

Launch prepare_launch(Spec spec, DetectedUnikernel unikernel, const HostConfig &host,
                      rootfs::LazyMountInfo &mi, const std::string &state_dir)
{
    Launch l;
    l.spec = std::move(spec);
    l.config = std::move(unikernel.config);
    l.host = &host;
    find_guest_and_vmm(l);
    MonitorConfig mc = monitor_config(l);
    bool kvm = choose_kvm(l);
    choose_guest_rootfs(l, state_dir, mi, std::move(unikernel.view));
    set_guest_params(l);
    plan_vmm_exec(l, mc, kvm);
    append_initrd_files(l, state_dir);
    plan_monitor_root(l, state_dir, kvm);
    plan_network(l);
    l.command = build_command(l);  // fails at create, not at start
    return l;
}

}  // namespace urunc::container
