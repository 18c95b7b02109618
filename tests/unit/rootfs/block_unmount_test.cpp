#include "rootfs/block_unmount.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "rootfs/mountinfo.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

using namespace urunc;
using namespace urunc::rootfs;
using namespace urunc::rootfs::test;

namespace {

struct Disk {
    TempDir tmp;
    LoopDevice loop{tmp / "disk.img"};
    unsigned major = 0, minor = 0;
    Disk()
    {
        enter_private_mount_ns();
        struct stat st;
        REQUIRE(::stat(loop.path().c_str(), &st) == 0);
        major = ::major(st.st_rdev);
        minor = ::minor(st.st_rdev);
    }
    bool mounted_here() const
    {
        auto mi = MountInfo::load();
        for (const auto &e : mi.entries())
            if (e.major == major && e.minor == minor)
                return true;
        return false;
    }
};

void mount_ext4(const std::string &dev, const std::string &dir)
{
    mkdir_p(dir);
    if (::mount(dev.c_str(), dir.c_str(), "ext4", 0, nullptr) < 0)
        throw sys_error("mount `" + dev + "`");
}

}  // namespace

TEST_CASE("block unmount: the device is unmounted and free afterwards",
          "[rootfs][block_unmount][privileged]")
{
    Disk d;
    std::string mnt = d.tmp / "rootfs";
    mount_ext4(d.loop.path(), mnt);
    CHECK(block_device_claimed(d.loop.path()));
    CHECK(mounts_of_device(d.major, d.minor) == std::vector<std::string>{mnt});
    unmount_for_guest(mnt);
    CHECK_FALSE(d.mounted_here());
    CHECK_FALSE(block_device_claimed(d.loop.path()));
    CHECK(mounts_of_device(d.major, d.minor).empty());
}

TEST_CASE("block unmount: only a whole block device is unmounted",
          "[rootfs][block_unmount][privileged]")
{
    enter_private_mount_ns();
    TempDir tmp;
    mkdir_p(tmp / "t");
    ScopedMount t("tmpfs", tmp / "t", "tmpfs", 0);
    CHECK(error_of([&] { unmount_for_guest(tmp / "t"); }) ==
          "unmount `" + (tmp / "t") + "` for the guest: `" + (tmp / "t") +
              "` is mounted from `tmpfs` (tmpfs), not from a block device");
    CHECK(MountInfo::load().is_mountpoint(tmp / "t"));
}

TEST_CASE("block unmount: a busy filesystem is refused, never lazily detached",
          "[rootfs][block_unmount][privileged]")
{
    Disk d;
    std::string mnt = d.tmp / "rootfs";
    mount_ext4(d.loop.path(), mnt);
    {
        UniqueFd busy(::open((mnt + "/held").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        REQUIRE(busy);
        std::string msg = error_of([&] { unmount_for_guest(mnt); });
        CHECK(msg == "unmount `" + mnt +
                         "` for the guest (a process still uses it; it is not detached "
                         "lazily, or the host could go on writing to `" +
                         d.loop.path() + "`): Device or resource busy");
        CHECK(d.mounted_here());
    }
    unmount_for_guest(mnt);
    CHECK_FALSE(block_device_claimed(d.loop.path()));
}

TEST_CASE("block unmount: a private copy in another namespace is found and refused",
          "[rootfs][block_unmount][privileged]")
{
    Disk d;
    std::string mnt = d.tmp / "rootfs";
    mount_ext4(d.loop.path(), mnt);
    // The upstream #562 situation: a namespace that holds its own copy and does not
    // receive our unmount.
    ParkedChild other([] {
        if (::unshare(CLONE_NEWNS) < 0)
            throw sys_error("unshare");
        if (::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
            throw sys_error("make / rprivate");
    });
    std::string msg = error_of([&] { unmount_for_guest(mnt); });
    CHECK(msg == "unmount `" + mnt + "` for the guest: `" + d.loop.path() +
                     "` is still mounted elsewhere (pid " + std::to_string(other.pid()) + ": " +
                     mnt + "); refusing to hand it to the guest");
    CHECK_FALSE(d.mounted_here());
    CHECK(block_device_claimed(d.loop.path()));
    other.release();  // its namespace dies, and the last mount with it
    CHECK_FALSE(block_device_claimed(d.loop.path()));
}

TEST_CASE("block unmount: copies under a shared parent go away by propagation",
          "[rootfs][block_unmount][privileged]")
{
    Disk d;
    std::string parent = d.tmp / "run";
    mkdir_p(parent);
    ScopedMount run("tmpfs", parent, "tmpfs", 0);
    REQUIRE(::mount(nullptr, parent.c_str(), nullptr, MS_SHARED, nullptr) == 0);
    std::string mnt = parent + "/rootfs";
    mount_ext4(d.loop.path(), mnt);
    // A container-like namespace: everything rslave, as runc and we set up.
    ParkedChild slave([] {
        if (::unshare(CLONE_NEWNS) < 0)
            throw sys_error("unshare");
        if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
            throw sys_error("make / rslave");
    });
    auto theirs = MountInfo::load("/proc/" + std::to_string(slave.pid()) + "/mountinfo");
    REQUIRE(theirs.is_mountpoint(mnt));
    unmount_for_guest(mnt);
    CHECK_FALSE(
        MountInfo::load("/proc/" + std::to_string(slave.pid()) + "/mountinfo").is_mountpoint(mnt));
    CHECK_FALSE(block_device_claimed(d.loop.path()));
}

TEST_CASE("block unmount: a second mount of the device in our namespace is refused",
          "[rootfs][block_unmount][privileged]")
{
    Disk d;
    std::string a = d.tmp / "a", b = d.tmp / "b";
    mount_ext4(d.loop.path(), a);
    mount_ext4(d.loop.path(), b);
    CHECK(error_of([&] { unmount_for_guest(a); }) ==
          "unmount `" + a + "` for the guest: `" + d.loop.path() +
              "` is still mounted elsewhere (" + b + "); refusing to hand it to the guest");
}

namespace {

// Whether /proc/locks shows a process blocked on an exclusive flock of inode `ino`
// ("N: -> FLOCK  ADVISORY  WRITE <pid> <maj>:<min>:<ino> 0 EOF").
bool exclusive_waiter_on(ino_t ino)
{
    std::string tail = ":" + std::to_string(ino) + " ";
    for (const auto &line : split(read_file("/proc/locks"), '\n'))
        if (line.find("-> FLOCK") != std::string::npos &&
            line.find(" WRITE ") != std::string::npos && line.find(tail) != std::string::npos)
            return true;
    return false;
}

}  // namespace

TEST_CASE("block unmount: a urunc init between copying the host's mounts and detaching them is "
          "waited for, not refused and not raced",
          "[rootfs][block_unmount][privileged]")
{
    Disk d;
    std::string mnt = d.tmp / "rootfs";
    mount_ext4(d.loop.path(), mnt);
    std::string lock = d.tmp / "copies.lock";
    std::string before = MountCopyLock::path();
    MountCopyLock::set_path(lock);
    struct Restore {
        std::string p;
        ~Restore() { MountCopyLock::set_path(p); }
    } restore{before};

    // The init of a parallel create, as init.cpp runs it: the lock shared, then its own
    // mount namespace (a private copy of our rootfs mount in it). It lets go of the copy only
    // once someone waits for the lock exclusively: so unmount_for_guest() can only succeed
    // by waiting for it, never by luck of timing. Exit 0: it saw the waiter; 3: nobody
    // waited (within 20 s) and the copy was still there when the check ran.
    int ready[2];
    REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(ready[0]);
        try {
            MountCopyLock copying(MountCopyLock::shared);
            if (::unshare(CLONE_NEWNS) < 0 ||
                ::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
                ::_exit(2);
            struct stat st;
            if (::stat(lock.c_str(), &st) < 0 || ::write(ready[1], "r", 1) != 1)
                ::_exit(2);
            bool waited = false;
            for (int i = 0; i < 20000 && !waited; ++i) {
                waited = exclusive_waiter_on(st.st_ino);
                struct timespec ts = {0, 1000 * 1000};
                if (!waited)
                    ::nanosleep(&ts, nullptr);
            }
            // Detach the copy, then let go of the lock: the order the init keeps.
            if (::umount2(mnt.c_str(), 0) < 0)
                ::_exit(2);
            copying.release();
            ::_exit(waited ? 0 : 3);
        } catch (...) {
            ::_exit(2);
        }
    }
    ::close(ready[1]);
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);

    std::string err = error_of([&] { unmount_for_guest(mnt); });
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(err == "");
    REQUIRE(WIFEXITED(status));
    INFO("exit 3: unmount_for_guest never waited for the init's lock; 2: the init's setup failed");
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_FALSE(d.mounted_here());
    CHECK_FALSE(block_device_claimed(d.loop.path()));
}
