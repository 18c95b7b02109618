#include "rootfs/monitor_root.hpp"

#include "base/dir.hpp"
#include "base/error.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "rootfs/in_root.hpp"
#include "rootfs/mountinfo.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

namespace urunc::rootfs {

namespace {

// realpath(3) of directories, remembered: some fifty libraries are links in one or two
// directories, and each realpath is a readlink per component.
class RealDirs {
public:
    std::string get(const std::string &dir)
    {
        if (auto it = known_.find(dir); it != known_.end())
            return it->second;
        std::string out;
        if (char *real = ::realpath(dir.c_str(), nullptr)) {
            out = real;
            std::free(real);
        }
        known_.emplace(dir, out);
        return out;
    }

private:
    std::map<std::string, std::string> known_;  // "" when it does not resolve
};

// One level of symlink: the link text, and the path it names (relative to its directory).
std::pair<std::string, std::string> read_link(const std::string &path, RealDirs &real_dirs)
{
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n <= 0)
        throw sys_error("readlink `" + path + "`");
    std::string text(buf, static_cast<size_t>(n));
    std::string dir = path.substr(0, path.rfind('/'));
    std::string target = normalize_path(text.front() == '/' ? text : dir + "/" + text);
    // The target's directory as it really is: an absolute link through a merged-/usr link
    // (/usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...) binds under /usr/lib,
    // and the root's own /lib link leads there.
    std::string tdir = target.substr(0, target.rfind('/'));
    if (std::string r = real_dirs.get(tdir.empty() ? "/" : tdir); !r.empty())
        target = (r == "/" ? "" : r) + target.substr(target.rfind('/'));
    return {text, target};
}

// What will be bound and linked, decided from the host before anything is mounted.
struct Plan {
    struct Bind {
        std::string path;  // host path, bound at the same path in the root
        bool dir = false;
    };
    std::vector<Bind> binds;
    std::vector<std::pair<std::string, std::string>> links;  // path in root -> link text
    std::set<std::string> seen;
    RealDirs real_dirs;

    // `follow`: a symlink at `path` is replicated and its target (one level) bound.
    void add(const std::string &path, bool optional, bool follow = true)
    {
        if (path.empty() || path.front() != '/')
            throw Error("bind `" + path + "`: must be an absolute path", EINVAL);
        std::string norm = normalize_path(path);
        if (!seen.insert(norm).second)
            return;
        struct stat st;
        if (::lstat(norm.c_str(), &st) < 0) {
            if (optional && errno == ENOENT)
                return;
            throw sys_error("bind `" + norm + "`");
        }
        if (!S_ISLNK(st.st_mode)) {
            binds.push_back({norm, S_ISDIR(st.st_mode)});
            return;
        }
        if (!follow) {
            if (optional)
                return;
            throw Error("bind `" + norm +
                            "`: a symlink again; only one level of symlink is "
                            "followed",
                        ELOOP);
        }
        auto [text, target] = read_link(norm, real_dirs);
        struct stat tst;
        if (::lstat(target.c_str(), &tst) < 0) {
            if (optional && errno == ENOENT)
                return;
            throw sys_error("bind `" + norm + "` -> `" + target + "`");
        }
        links.emplace_back(norm, text);
        add(target, optional, false);  // no-op when it is bound already (/lib -> usr/lib)
    }

    // A data dir, and the targets of its entries that are symlinks leading out of it.
    void add_data_dir(const std::string &dir)
    {
        std::string norm = normalize_path(dir);
        add(norm, true);
        struct stat st;
        if (::lstat(norm.c_str(), &st) < 0)
            return;
        std::string real = S_ISLNK(st.st_mode) ? read_link(norm, real_dirs).second : norm;
        UniqueDir d = UniqueDir::open(real);
        if (!d)
            return;
        std::vector<std::string> outside;
        while (const dirent *e = d.next()) {
            struct stat est;
            if (e->d_type != DT_LNK &&
                (e->d_type != DT_UNKNOWN ||
                 ::fstatat(d.fd(), e->d_name, &est, AT_SYMLINK_NOFOLLOW) < 0 ||
                 !S_ISLNK(est.st_mode)))
                continue;
            std::string target = read_link(real + "/" + e->d_name, real_dirs).second;
            if (!starts_with(target, real + "/"))
                outside.push_back(target);
        }
        std::sort(outside.begin(), outside.end());
        for (const auto &t : outside)
            add(t, true, false);
    }
};

// The root tmpfs must not land in a shared peer group (it would appear on the host when
// "/" is rshared) and pivot_root refuses a shared parent: make the nearest mount above
// `dir` private. This only changes our own, fresh namespace.
void make_parent_private(const std::string &dir)
{
    std::string p = normalize_path(dir);
    for (;;) {
        p = p.substr(0, std::max<size_t>(p.rfind('/'), 1));
        if (::mount(nullptr, p.c_str(), nullptr, MS_PRIVATE, nullptr) == 0)
            return;
        if (errno != EINVAL || p == "/")
            throw sys_error("make the mount above `" + dir + "` private (at `" + p + "`)");
    }
}

// maskedPaths and readonlyPaths, on the root's own /proc (and anything else bound in): /dev
// and those under it when `dev` (after the nodes are made), the others when not.
void confine_paths(const RootDir &root, const MonitorRootRequest &req, bool dev)
{
    auto wanted = [&](const std::string &path) {
        return (path == "/dev" || starts_with(path, "/dev/")) == dev;
    };
    auto exists = [&](const std::string &path, bool &dir) {
        try {
            UniqueFd fd = root.open(path);
            struct stat st;
            if (::fstat(fd.get(), &st) < 0)
                throw sys_error("stat `" + root.shown(path) + "`");
            dir = S_ISDIR(st.st_mode);
            return true;
        } catch (const Error &e) {
            if (e.code() == ENOENT || e.code() == ENOTDIR)
                return false;
            throw;
        }
    };
    std::vector<std::string> readonly = req.readonly_paths;
    if (req.proc && std::find(readonly.begin(), readonly.end(), "/proc/sys") == readonly.end())
        readonly.push_back("/proc/sys");
    for (const auto &p : readonly) {
        bool dir = false;
        if (wanted(normalize_path(p)) && exists(normalize_path(p), dir))
            root.bind_read_only("/proc/self/fd/" +
                                    std::to_string(root.open(normalize_path(p)).get()),
                                normalize_path(p));
    }
    for (const auto &p : req.masked_paths) {
        std::string path = normalize_path(p);
        bool dir = false;
        if (!wanted(path) || !exists(path, dir))
            continue;
        if (dir)
            root.mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       "size=0");
        else
            root.mount("/dev/null", path, nullptr, MS_BIND, "");
    }
}

// Plan first: what is bound (parents first) and linked, every path checked before any
// mount is made.
Plan make_plan(const MonitorRootRequest &req)
{
    if (req.root_dir.empty() || req.root_dir.front() != '/')
        throw Error("root directory `" + req.root_dir + "` must be an absolute path", EINVAL);
    Plan plan;
    for (const auto &b : req.binds)
        plan.add(b, false);
    for (const auto &d : req.data_dirs)
        plan.add_data_dir(d);
    for (const auto &l : req.links) {
        struct stat st;
        std::string norm = normalize_path(l);
        if (::lstat(norm.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && plan.seen.insert(norm).second)
            plan.links.emplace_back(norm, read_link(norm, plan.real_dirs).first);
    }
    std::sort(plan.binds.begin(), plan.binds.end(),
              [](const auto &a, const auto &b) { return a.path < b.path; });  // parents first
    for (const auto &lib : req.libraries)
        if (lib.empty() || lib.front() != '/')
            throw Error("library `" + lib + "`: must be an absolute path", EINVAL);
    for (const auto &dev : req.devices) {
        if (!starts_with(normalize_path(dev), "/dev/"))
            throw Error("device `" + dev + "` must be under /dev", EINVAL);
    }
    return plan;
}

// The root's tmpfs over root_dir, under a private parent, and the fd everything else is
// made through.
RootDir mount_root_tmpfs(const MonitorRootRequest &req)
{
    if (req.root_propagation && ::mount(nullptr, "/", nullptr, req.root_propagation, nullptr) < 0)
        throw sys_error("set the propagation of `/`");
    make_parent_private(req.root_dir);
    if (::mount("tmpfs", req.root_dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                ("mode=755,size=" + req.root_size).c_str()) < 0)
        throw sys_error("mount tmpfs on `" + req.root_dir + "`");
    UniqueFd rootfd(::open(req.root_dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!rootfd)
        throw sys_error("open `" + req.root_dir + "`");
    return RootDir(std::move(rootfd), req.root_dir);
}

// /proc (when asked for), /dev and /tmp.
void mount_pseudo_filesystems(RootDir &root, const MonitorRootRequest &req)
{
    if (req.proc) {
        root.mkdirs("/proc");
        root.mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
    }
    root.mkdirs("/dev");
    root.mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
               "mode=755,size=" + req.dev_size);
    root.mkdirs("/tmp");
    root.mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=" + req.tmp_size);
    if (!req.run_size.empty()) {
        root.mkdirs("/run");
        root.mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   "mode=755,size=" + req.run_size);
    }
}

// The host paths (read-only, at the same path) and the files bound by fd.
void bind_files(RootDir &root, Plan &plan, const MonitorRootRequest &req)
{
    for (const auto &b : plan.binds) {
        if (b.dir)
            root.mkdirs(b.path);
        else
            root.make_file(b.path);
        root.bind_read_only(b.path, b.path);
    }
    // Through the soname link, no lstat first (monitor_root.hpp); each path once.
    for (const auto &lib : req.libraries) {
        std::string path = normalize_path(lib);
        if (!plan.seen.insert(path).second)
            continue;
        root.make_file(path);
        root.bind_read_only(path, path);
    }
    for (const auto &fb : req.file_binds) {
        if (fb.directory)
            root.mkdirs(fb.destination);
        else
            root.make_file(fb.destination);
        root.bind(fb.source, fb.destination, !fb.writable);
    }
}

// The device nodes: copies of the host's and the requested ones; /dev read-only after.
void make_devices(RootDir &root, const MonitorRootRequest &req)
{
    for (const auto &dev : req.devices)
        root.copy_device(dev, dev);
    for (const auto &n : req.nodes) {
        if (!starts_with(normalize_path(n.path), "/dev/"))
            throw Error("device `" + n.path + "` must be under /dev", EINVAL);
        root.make_device(normalize_path(n.path), n.mode, n.rdev, n.uid, n.gid);
    }
    if (req.read_only_dev) {
        // Only the nodes made above, for good: a VMM with CAP_MKNOD makes no other here.
        UniqueFd dev = root.open("/dev");
        if (::mount(nullptr, ("/proc/self/fd/" + std::to_string(dev.get())).c_str(), nullptr,
                    MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
                    nullptr) < 0)
            throw sys_error("remount `" + root.shown("/dev") + "` read-only");
    }
}

// The first part: every mount but the masks under /dev.
RootDir begin(const MonitorRootRequest &req,
              std::vector<std::pair<std::string, std::string>> &links)
{
    try {
        Plan plan = make_plan(req);
        RootDir root = mount_root_tmpfs(req);
        mount_pseudo_filesystems(root, req);
        bind_files(root, plan, req);
        confine_paths(root, req, false);
        links = std::move(plan.links);
        return root;
    } catch (const Error &e) {
        throw wrap("monitor root", e);
    }
}

}  // namespace

MonitorRootBuild::MonitorRootBuild(MonitorRootRequest req)
    : req_(std::move(req)), root_(begin(req_, links_))
{
}

void MonitorRootBuild::finish()
{
    try {
        make_devices(root_, req_);
        confine_paths(root_, req_, true);
        for (const auto &f : req_.files)
            root_.write_file(f.path, f.content, f.mode);
        for (const auto &[path, text] : links_)
            root_.symlink(text, path);
        if (req_.read_only_root) {
            std::string self = "/proc/self/fd/" + std::to_string(root_.fd());
            if (::mount(nullptr, self.c_str(), nullptr,
                        MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) < 0)
                throw sys_error("remount `" + req_.root_dir + "` read-only");
        }
    } catch (const Error &e) {
        throw wrap("monitor root", e);
    }
}

void build_monitor_root(const MonitorRootRequest &req) { MonitorRootBuild(req).finish(); }

void enter_monitor_root(const std::string &dir)
{
    const std::string ctx = "enter monitor root `" + dir + "`: ";
    UniqueFd fd(::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!fd || ::fchdir(fd.get()) < 0)
        throw sys_error(ctx + "chdir");
    // pivot_root(".", "."): the old root ends up stacked on the new one, at ".", with no
    // put_old directory to create or remove.
    if (::syscall(SYS_pivot_root, ".", ".") < 0)
        throw sys_error(ctx + "pivot_root");
    // The old root's mounts may still be shared with the host: rslave first, so that
    // detaching it cannot propagate an unmount back.
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
        throw sys_error(ctx + "make the old root rslave");
    if (::umount2(".", MNT_DETACH) < 0)
        throw sys_error(ctx + "detach the old root");
    if (::chdir("/") < 0)
        throw sys_error(ctx + "chdir `/`");
}

}  // namespace urunc::rootfs
