#include "helpers.hpp"

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "rootfs/mountinfo.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace urunc::rootfs::test {

void enter_private_mount_ns()
{
    static bool done = false;
    if (done)
        return;
    if (::unshare(CLONE_NEWNS) < 0)
        throw sys_error("unshare(CLONE_NEWNS)");
    if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
        throw sys_error("make `/` rslave");
    done = true;
}

TempDir::TempDir()
{
    char tmpl[] = "/tmp/urunc-rootfs-test.XXXXXX";
    if (!::mkdtemp(tmpl))
        throw sys_error("mkdtemp");
    path_ = tmpl;
}

TempDir::~TempDir()
{
    // Whatever a test left mounted below (it failed half-way): detach, deepest first, so
    // that remove_tree, which never crosses a mount, removes everything.
    try {
        auto mi = MountInfo::load();
        for (auto it = mi.entries().rbegin(); it != mi.entries().rend(); ++it) {
            if (it->mountpoint == path_ || starts_with(it->mountpoint, path_ + "/"))
                ::umount2(it->mountpoint.c_str(), MNT_DETACH);
        }
    } catch (const Error &) {
    }
    remove_tree(path_);
}

ScopedMount::ScopedMount(const std::string &source, const std::string &target,
                         const std::string &fstype, unsigned long flags, const std::string &data)
    : target_(target)
{
    if (::mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) < 0)
        throw sys_error("mount `" + source + "` on `" + target + "`");
}

ScopedMount::~ScopedMount() { ::umount2(target_.c_str(), MNT_DETACH); }

LoopDevice::LoopDevice(const std::string &image, unsigned size_mib, bool mkfs)
{
    {
        UniqueFd img(::open(image.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!img || ::ftruncate(img.get(), static_cast<off_t>(size_mib) << 20) < 0)
            throw sys_error("create `" + image + "`");
    }
    if (mkfs) {
        std::string cmd = "mkfs.ext4 -q -F -L urunctest '" + image + "' >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0)
            throw std::runtime_error("mkfs.ext4 failed on " + image);
    }
    UniqueFd backing(::open(image.c_str(), O_RDWR | O_CLOEXEC));
    UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
    if (!backing || !ctl)
        throw sys_error("open loop backing or control");
    // LOOP_CONFIGURE fails with EBUSY when another user grabbed the same free device
    // between GET_FREE and here; just ask again.
    for (int attempt = 0; attempt < 20; ++attempt) {
        int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
        if (n < 0)
            throw sys_error("LOOP_CTL_GET_FREE");
        std::string dev = "/dev/loop" + std::to_string(n);
        UniqueFd loop(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
        if (!loop)
            throw sys_error("open `" + dev + "`");
        struct loop_config cfg = {};
        cfg.fd = static_cast<unsigned>(backing.get());
        std::strncpy(reinterpret_cast<char *>(cfg.info.lo_file_name), image.c_str(),
                     LO_NAME_SIZE - 1);
        if (::ioctl(loop.get(), LOOP_CONFIGURE, &cfg) == 0) {
            path_ = dev;
            return;
        }
        if (errno != EBUSY)
            throw sys_error("LOOP_CONFIGURE `" + dev + "`");
    }
    throw std::runtime_error("no free loop device for " + image);
}

LoopDevice::~LoopDevice()
{
    UniqueFd loop(::open(path_.c_str(), O_RDWR | O_CLOEXEC));
    if (loop)
        ::ioctl(loop.get(), LOOP_CLR_FD, 0);
}

void write_text(const std::string &path, const std::string &text)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd)
        throw sys_error("create `" + path + "`");
    write_all(fd.get(), text, path);
}

std::string run_in_child(const std::function<void()> &fn)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0)
        throw sys_error("pipe2");
    UniqueFd rd(fds[0]), wr(fds[1]);
    pid_t pid = ::fork();
    if (pid < 0)
        throw sys_error("fork");
    if (pid == 0) {
        rd.reset();
        std::string msg;
        try {
            fn();
        } catch (const std::exception &e) {
            msg = e.what();
            if (msg.empty())
                msg = "(empty exception message)";
        }
        if (!msg.empty())
            (void)!::write(wr.get(), msg.data(), msg.size());
        ::_exit(msg.empty() ? 0 : 1);
    }
    wr.reset();
    std::string msg = read_fd(rd.get(), "child pipe");
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!msg.empty())
        return msg;
    if (WIFSIGNALED(status))
        return "child killed by signal " + std::to_string(WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        return "child exited with " + std::to_string(WEXITSTATUS(status));
    return "";
}

ParkedChild::ParkedChild(const std::function<void()> &setup)
{
    int ready[2], rel[2];
    if (::pipe2(ready, O_CLOEXEC) < 0)
        throw sys_error("pipe2");
    if (::pipe2(rel, O_CLOEXEC) < 0) {
        ::close(ready[0]);
        ::close(ready[1]);
        throw sys_error("pipe2");
    }
    pid_ = ::fork();
    if (pid_ < 0)
        throw sys_error("fork");
    if (pid_ == 0) {
        ::close(ready[0]);
        ::close(rel[1]);
        std::string msg = "ok";
        try {
            setup();
        } catch (const std::exception &e) {
            msg = e.what();
        }
        (void)!::write(ready[1], msg.data(), msg.size());
        ::close(ready[1]);
        char c;
        while (::read(rel[0], &c, 1) < 0 && errno == EINTR) {}
        ::_exit(0);
    }
    ::close(ready[1]);
    ::close(rel[0]);
    release_fd_ = rel[1];
    std::string msg = read_fd(ready[0], "child pipe");
    ::close(ready[0]);
    if (msg != "ok") {
        release();
        throw std::runtime_error("parked child setup failed: " + msg);
    }
}

void ParkedChild::release()
{
    if (release_fd_ >= 0) {
        ::close(release_fd_);
        release_fd_ = -1;
    }
    if (pid_ > 0) {
        int status;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
        pid_ = -1;
    }
}

ParkedChild::~ParkedChild() { release(); }

std::string error_of(const std::function<void()> &fn)
{
    try {
        fn();
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

}  // namespace urunc::rootfs::test
