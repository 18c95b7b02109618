#include "rootfs/monitor_root.hpp"

#include "base/dir.hpp"
#include "base/error.hpp"
#include "base/file.hpp"
#include "rootfs/mountinfo.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

using namespace urunc;
using namespace urunc::rootfs;
using namespace urunc::rootfs::test;

namespace {

void expect(bool ok, const std::string &what)
{
    if (!ok)
        throw std::runtime_error("check failed: " + what);
}

struct stat stat_of(const std::string &path)
{
    struct stat st;
    if (::stat(path.c_str(), &st) < 0)
        throw sys_error("stat `" + path + "` inside the monitor root");
    return st;
}

bool missing(const std::string &path)
{
    struct stat st;
    return ::lstat(path.c_str(), &st) < 0 && errno == ENOENT;
}

int run(const char *path, const char *arg0, const char *arg1)
{
    pid_t pid = ::fork();
    if (pid == 0) {
        const char *argv[] = {arg0, arg1, nullptr};
        ::execv(path, const_cast<char *const *>(argv));
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// The root built from `req` over `root_dir` in a child's own mount namespace: its error, or "".
std::string build_in(const std::string &root_dir, MonitorRootRequest req)
{
    return run_in_child([&] {
        if (::unshare(CLONE_NEWNS) < 0)
            throw sys_error("unshare");
        req.root_dir = root_dir;
        build_monitor_root(req);
    });
}

}  // namespace

TEST_CASE("monitor root: build, pivot and find exactly what was asked for",
          "[rootfs][monitor_root][privileged]")
{
    TempDir tmp;
    mkdir_p(tmp / "root");
    write_text(tmp / "kernel", "KERNEL IMAGE");
    LoopDevice loop(tmp / "disk.img", 1, false);
    struct stat host_loop = stat_of(loop.path());
    struct stat host_null = stat_of("/dev/null");
    struct stat host_root = stat_of("/");
    bool have_kvm = path_exists("/dev/kvm");
    bool have_ovmf =
        path_exists("/usr/share/qemu/OVMF.fd") && path_exists("/usr/share/ovmf/OVMF.fd");
    // libmount is loaded on first use: load it here, where it can be found, not after the pivot.
    (void)MountInfo::load();

    std::string err = run_in_child([&] {
        if (::unshare(CLONE_NEWNS) < 0)
            throw sys_error("unshare");
        UniqueFd kernel(::open((tmp / "kernel").c_str(), O_PATH | O_CLOEXEC));
        MonitorRootRequest req;
        req.root_dir = tmp / "root";
        req.binds = {"/bin/busybox"};
        req.data_dirs = {"/usr/share/qemu", "/usr/share/seabios", "/usr/share/no-such-data"};
        req.file_binds = {{"/proc/self/fd/" + std::to_string(kernel.get()), "/unikernel/kernel"}};
        req.files = {{"/etc/urunc.json", "{\"a\":1}", 0600}};
        req.devices = {"/dev/null", "/dev/urandom", loop.path()};
        if (have_kvm)
            req.devices.push_back("/dev/kvm");
        req.nodes = {{"/dev/extra", S_IFCHR | 0600, makedev(1, 5), 12, 34}};
        req.masked_paths = {"/proc/keys", "/proc/acpi", "/proc/no-such-path"};
        req.readonly_paths = {"/proc/bus"};
        build_monitor_root(req);
        enter_monitor_root(req.root_dir);

        // The host is gone.
        expect(missing(tmp.path()), "the temp dir is not visible");
        expect(missing("/etc/passwd"), "host /etc is not visible");
        expect(missing("/work"), "host /work is not visible");
        // The VMM binary is there and runs.
        expect(run("/bin/busybox", "true", nullptr) == 0, "/bin/busybox true runs");
        expect(::access("/bin/busybox", W_OK) < 0 && errno == EROFS, "/bin/busybox is read-only");
        // A static binary: no library directory at all.
        expect(missing("/lib") && missing("/lib64") && missing("/usr/lib"), "no library dirs");
        // Data dirs, with the one-level symlink target outside the dir.
        expect(S_ISDIR(stat_of("/usr/share/qemu").st_mode), "/usr/share/qemu");
        expect(S_ISDIR(stat_of("/usr/share/seabios").st_mode), "/usr/share/seabios");
        if (have_ovmf)
            expect(S_ISREG(stat_of("/usr/share/qemu/OVMF.fd").st_mode),
                   "OVMF.fd -> ../ovmf/OVMF.fd");
        expect(missing("/usr/share/no-such-data"), "a missing data dir is skipped");
        expect(missing("/usr/bin"), "nothing else of /usr");
        // The artifact bound from an O_PATH fd, read-only.
        expect(read_file("/unikernel/kernel") == "KERNEL IMAGE", "kernel content");
        expect(::open("/unikernel/kernel", O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS,
               "kernel is read-only");
        // Written files.
        expect(read_file("/etc/urunc.json") == "{\"a\":1}", "urunc.json content");
        expect((stat_of("/etc/urunc.json").st_mode & 07777) == 0600, "urunc.json mode");
        // Device nodes: host numbers, world read-write.
        struct stat null = stat_of("/dev/null");
        expect(S_ISCHR(null.st_mode) && null.st_rdev == host_null.st_rdev,
               "/dev/null is the host's");
        expect((null.st_mode & 0777) == 0666, "/dev/null mode 0666");
        struct stat blk = stat_of(loop.path());
        expect(S_ISBLK(blk.st_mode) && blk.st_rdev == host_loop.st_rdev, "loop device node");
        expect((blk.st_mode & 0666) == 0666, "loop device mode |= 0666");
        if (have_kvm)
            expect((stat_of("/dev/kvm").st_mode & 0666) == 0666, "/dev/kvm world rw");
        UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
        expect(devnull && ::write(devnull.get(), "x", 1) == 1, "/dev/null is usable");
        expect((stat_of("/dev").st_mode & 07777) == 0755, "/dev mode 755");
        // /dev is read-only once made: no node of the VMM's own making.
        expect(::mknod("/dev/made", S_IFBLK | 0600, host_loop.st_rdev) < 0 && errno == EROFS,
               "mknod in /dev: EROFS");
        struct stat extra = stat_of("/dev/extra");
        expect(S_ISCHR(extra.st_mode) && extra.st_rdev == makedev(1, 5) &&
                   (extra.st_mode & 07777) == 0600 && extra.st_uid == 12 && extra.st_gid == 34,
               "a linux.devices node, as asked");
        // Masked and read-only /proc paths; /proc/sys read-only without being asked.
        char c;
        UniqueFd keys(::open("/proc/keys", O_RDONLY | O_CLOEXEC));
        expect(keys && ::read(keys.get(), &c, 1) == 0, "/proc/keys reads as /dev/null");
        if (path_exists("/proc/acpi"))
            expect(::rmdir("/proc/acpi/x") < 0 && ::access("/proc/acpi", W_OK) < 0 &&
                       errno == EROFS,
                   "/proc/acpi is an empty read-only tmpfs");
        expect(::open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS,
               "/proc/sys is read-only");
        // /proc, /tmp, and a read-only root.
        expect(path_exists("/proc/self/mountinfo"), "/proc is mounted");
        expect((stat_of("/tmp").st_mode & 07777) == 01777, "/tmp mode 1777");
        write_text("/tmp/scratch", "ok");
        expect(::mkdir("/new", 0755) < 0 && errno == EROFS, "the root itself is read-only");
        auto mi = MountInfo::load("/proc/self/mountinfo");
        const auto *root = mi.find_mount("/");
        expect(root && root->fstype == "tmpfs", "/ is the tmpfs");
        for (const auto &m : mi.entries())
            expect(makedev(m.major, m.minor) != host_root.st_dev || m.root != "/",
                   "the host root filesystem is not mounted whole: " + m.mountpoint);
        expect(has_option(mi.find_mount("/tmp")->options, "nodev"), "/tmp nodev");
    });
    CHECK(err == "");
    // Nothing leaked into our namespace.
    CHECK_FALSE(MountInfo::load().is_mountpoint(tmp / "root"));
}

TEST_CASE("monitor root: errors name the step and the path", "[rootfs][monitor_root][privileged]")
{
    TempDir tmp;
    mkdir_p(tmp / "root");
    auto build_in_child = [&](MonitorRootRequest req) { return build_in(tmp / "root", req); };
    MonitorRootRequest missing_bin;
    missing_bin.binds = {"/usr/bin/no-such-vmm"};
    CHECK(build_in_child(missing_bin) ==
          "monitor root: bind `/usr/bin/no-such-vmm`: No such file or directory");
    MonitorRootRequest not_dev;
    not_dev.devices = {"/dev/../etc/passwd"};
    CHECK(build_in_child(not_dev) ==
          "monitor root: device `/dev/../etc/passwd` must be under /dev");
    MonitorRootRequest regular;
    regular.devices = {"/dev/shm"};
    CHECK(build_in_child(regular) == "monitor root: `/dev/shm` is not a device node");
    MonitorRootRequest bad_source;
    bad_source.file_binds = {{tmp / "absent", "/unikernel/kernel"}};
    CHECK(build_in_child(bad_source) == "monitor root: mount `" + (tmp / "absent") + "` on `" +
                                            (tmp / "root") +
                                            "/unikernel/kernel`: No such file or directory");
    MonitorRootRequest relative;
    relative.binds = {"usr/bin/qemu"};
    CHECK(build_in_child(relative) ==
          "monitor root: bind `usr/bin/qemu`: must be an absolute path");
    CHECK(error_of([&] { enter_monitor_root(tmp / "absent"); }) ==
          "enter monitor root `" + (tmp / "absent") + "`: chdir: No such file or directory");
}

TEST_CASE("monitor root: a library is bound at its soname, through the link",
          "[rootfs][monitor_root][privileged]")
{
    // A host library whose soname is a link (libz.so.1 -> libz.so.1.2.13 on Debian).
    std::string lib;
    for (const char *p :
         {"/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib64/ld-linux-x86-64.so.2"}) {
        struct stat st;
        if (::lstat(p, &st) == 0 && S_ISLNK(st.st_mode)) {
            lib = p;
            break;
        }
    }
    if (lib.empty()) {
        WARN("no library here is a symlink: skipped");
        return;
    }
    std::string content = read_file(lib);
    std::string dir = lib.substr(0, lib.rfind('/'));
    TempDir tmp;
    mkdir_p(tmp / "root");
    std::string err = run_in_child([&] {
        if (::unshare(CLONE_NEWNS) < 0)
            throw sys_error("unshare");
        MonitorRootRequest req;
        req.root_dir = tmp / "root";
        req.binds = {"/bin/busybox"};
        req.libraries = {lib, dir + "/../" + dir.substr(dir.rfind('/') + 1) +
                                  lib.substr(lib.rfind('/'))};
        build_monitor_root(req);
        enter_monitor_root(req.root_dir);

        struct stat st;
        expect(::lstat(lib.c_str(), &st) == 0 && S_ISREG(st.st_mode),
               lib + " is a file in the root, not a link");
        expect(read_file(lib) == content, lib + " has the library's content");
        expect(::open(lib.c_str(), O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS,
               lib + " is read-only");
        auto mi = MountInfo::load("/proc/self/mountinfo");
        int mounts = 0;
        for (const auto &m : mi.entries())
            mounts += m.mountpoint == lib;
        expect(mounts == 1, "the library is bound once, though asked for twice");
        // Only the soname: no link, no versioned file beside it.
        UniqueDir d = UniqueDir::open(dir);
        int entries = 0;
        while (const dirent *e = d.next())
            entries += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
        expect(entries == 1, dir + " holds the library alone");
    });
    CHECK(err == "");
    CHECK_FALSE(MountInfo::load().is_mountpoint(tmp / "root"));

    auto build_in_child = [&](MonitorRootRequest req) { return build_in(tmp / "root", req); };
    MonitorRootRequest missing;
    missing.libraries = {"/usr/lib/no-such-library.so.1"};
    CHECK(build_in_child(missing) ==
          "monitor root: mount `/usr/lib/no-such-library.so.1` on `" + (tmp / "root") +
              "/usr/lib/no-such-library.so.1`: No such file or directory");
    MonitorRootRequest relative;
    relative.libraries = {"libz.so.1"};
    CHECK(build_in_child(relative) ==
          "monitor root: library `libz.so.1`: must be an absolute path");
}
