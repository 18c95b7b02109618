#include "container/state_store.hpp"

#include "base/error.hpp"
#include "base/rollback.hpp"
#include "base/lock.hpp"
#include "base/file.hpp"
#include "linux/cgroup.hpp"
#include "linux/cgroup_freezer.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

namespace urunc::container {
using oci::State;
using oci::Status;
using oci::parse_state;
using oci::state_to_json;
using linux::cgroup_from_json;
using linux::find_freezer;
using linux::is_frozen;

void check_trusted_dir(int dirfd, const std::string &path)
{
    struct stat st;
    if (::fstat(dirfd, &st) < 0)
        throw sys_error("stat `" + path + "`");
    bool owner_ok = st.st_uid == 0 || st.st_uid == ::geteuid();
    bool mode_ok = (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
    if (!S_ISDIR(st.st_mode) || !owner_ok || !mode_ok)
        throw Error(
            fmt::format("state directory `{}` is owned by uid {} with mode {:04o}: refusing to "
                        "trust it (it must be a directory owned by root or uid {}, not "
                        "writable by group or other)",
                        path, st.st_uid, st.st_mode & 07777, ::geteuid()),
            EPERM);
}

void check_state_root(const std::string &root)
{
    UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return;
        throw sys_error("open state root `" + root + "`");
    }
    check_trusted_dir(fd.get(), root);
}

static UniqueFd lock_dir(const std::string &path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd)
        throw sys_error("open `" + path + "`");
    check_trusted_dir(fd.get(), path);
    lock_fd(fd.get(), LockMode::exclusive, path);
    return fd;
}

#ifdef URUNC_TEST_SEAMS
// Test builds only (meson -Dtest_seams=true): URUNC_TEST_CREATE_PAUSE=<dir> stops create
// between the mkdir of its state dir and the lock on it, the window a concurrent delete can
// fall into: it writes a byte to the FIFO <dir>/paused, then waits for one on <dir>/resume.
static void test_pause_after_mkdir()
{
    const char *dir = std::getenv("URUNC_TEST_CREATE_PAUSE");
    if (!dir || !*dir)
        return;
    std::string d = dir;
    char c = 0;
    {
        UniqueFd paused(::open((d + "/paused").c_str(), O_WRONLY | O_CLOEXEC));
        if (!paused || ::write(paused.get(), &c, 1) != 1)
            throw sys_error("test seam URUNC_TEST_CREATE_PAUSE: `" + d + "/paused`");
    }
    UniqueFd resume(::open((d + "/resume").c_str(), O_RDONLY | O_CLOEXEC));
    if (!resume || ::read(resume.get(), &c, 1) != 1)
        throw sys_error("test seam URUNC_TEST_CREATE_PAUSE: `" + d + "/resume`");
}
#endif

StateDir StateDir::create(const std::string &root, const std::string &id)
{
    mkdir_p(root, 0700);
    check_state_root(root);
    std::string path = root + "/" + id;
    if (::mkdir(path.c_str(), 0711) < 0) {
        if (errno == EEXIST)
            throw Error("container with id exists: " + id);
        throw sys_error("mkdir `" + path + "`");
    }
    Rollback undo("state dir");
    undo.add([&] {
        ::rmdir(path.c_str());
        return std::string();
    });
#ifdef URUNC_TEST_SEAMS
    test_pause_after_mkdir();
#endif
    StateDir made(path, lock_dir(path));
    undo.commit();
    return made;
}

std::optional<StateDir> StateDir::open(const std::string &root, const std::string &id)
{
    check_state_root(root);
    std::string path = root + "/" + id;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return std::nullopt;
        throw sys_error("open `" + path + "`");
    }
    check_trusted_dir(fd.get(), path);
    lock_fd(fd.get(), LockMode::exclusive, path);
    // A delete that held the lock before us may have removed the directory meanwhile.
    struct stat st;
    if (::fstat(fd.get(), &st) == 0 && st.st_nlink == 0)
        return std::nullopt;
    return StateDir(path, std::move(fd));
}

bool StateDir::has_state() const { return path_exists(file("state.json")); }

State StateDir::load() const
{
    std::string p = file("state.json");
    return parse_state(read_regular_file(p, kMaxConfigJson), p);
}

State StateDir::open_unlocked_load(const std::string &dir)
{
    UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd)
        throw sys_error("open `" + dir + "`");
    check_trusted_dir(fd.get(), dir);
    std::string p = dir + "/state.json";
    return parse_state(read_regular_file(p, kMaxConfigJson), p);
}

void StateDir::save(const State &s) const
{
    write_file_atomic(file("state.json"), state_to_json(s), 0600);
}

std::string StateDir::remove()
{
    std::string err = remove_tree(path_);
    lock_.reset();
    return err;
}

UniqueFd open_exec_fifo(const StateDir &dir)
{
    std::string path = dir.file("exec.fifo");
    UniqueFd fifo(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo)
        throw sys_error("open `" + path + "`");
    return fifo;
}

bool is_urunc_state(const std::string &root, const std::string &id)
{
    std::string p = root + "/" + id + "/state.json";
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
    if (!fd)
        return false;
    char buf[16] = {};
    ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    return n > 0 && std::strncmp(buf, "{\"urunc\":", 9) == 0;
}

unsigned long long process_start_time(int pid)
{
    if (pid <= 0)
        return 0;
    std::string stat;
    try {
        stat = read_file(fmt::format("/proc/{}/stat", pid));
    } catch (const Error &) {
        return 0;
    }
    auto rp = stat.rfind(')');
    if (rp == std::string::npos || rp + 2 >= stat.size())
        return 0;
    // After ")": field 3 (state) ... field 22 (starttime).
    const char *p = stat.c_str() + rp + 2;
    char state = *p;
    if (state == 'Z' || state == 'X')
        return 0;
    int field = 3;
    while (*p && field < 22) {
        if (*p == ' ')
            ++field;
        ++p;
    }
    return std::strtoull(p, nullptr, 10);
}

bool container_frozen(const State &s)
{
    if (s.cgroup.empty())
        return false;
    try {
        return is_frozen(find_freezer(cgroup_from_json(s.cgroup).all_dirs));
    } catch (const Error &) {
        return false;
    }
}

Status live_status(const State &s, const std::string &dir)
{
    if (s.creating) {
        // create holds the lock while it runs: a free lock means create died mid-way.
        UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!fd || !try_lock_fd(fd.get(), LockMode::exclusive, dir))
            return Status::creating;
        return Status::stopped;
    }
    unsigned long long st = process_start_time(s.pid);
    if (st == 0 || st != s.pid_start)
        return Status::stopped;
    if (container_frozen(s))
        return Status::paused;
    if (path_exists(dir + "/exec.fifo"))
        return Status::created;
    return Status::running;
}

}  // namespace urunc::container
