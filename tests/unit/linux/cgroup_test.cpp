#include "linux/cgroup.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../privileged.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace urunc;
using namespace urunc::oci;

namespace {

// A child that blocks on a pipe until this object goes away.
struct Blocker {
    pid_t pid = -1;
    UniqueFd release;
    Blocker()
    {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(p[1]);
            char c;
            (void)!::read(p[0], &c, 1);
            ::_exit(0);
        }
        ::close(p[0]);
        release.reset(p[1]);
    }
    void stop()
    {
        if (pid <= 0)
            return;
        release.reset();
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        pid = -1;
    }
    ~Blocker() { stop(); }
};

// Removes what a test placed, even when the test fails.
struct CgroupGuard {
    Cgroup cg;
    ~CgroupGuard() { remove_cgroup(cg); }
};

std::string unique_name(const char *what)
{
    std::random_device rd;
    return "urunc-test-" + std::string(what) + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(rd() % 1000000);
}

bool can_use_cgroups()
{
    REQUIRE_PRIVILEGED("cgroups");
    INFO("/sys/fs/cgroup must be writable");
    REQUIRE(::access("/sys/fs/cgroup", W_OK) == 0);
    return true;
}

bool has_cgroup2() { return read_file("/proc/self/mountinfo").find(" - cgroup2 ") != std::string::npos; }

// The path of `pid` for the v1 hierarchy holding `ctrl`, or for cgroup2 with ctrl == "".
std::string proc_cgroup(pid_t pid, const std::string &ctrl)
{
    for (auto &line : split(read_file("/proc/" + std::to_string(pid) + "/cgroup"), '\n')) {
        auto f = split(line, ':');
        if (f.size() < 3)
            continue;
        auto ctrls = split(f[1], ',');
        if ((ctrl.empty() && f[0] == "0") ||
            (!ctrl.empty() && std::find(ctrls.begin(), ctrls.end(), ctrl) != ctrls.end()))
            return line.substr(f[0].size() + f[1].size() + 2);
    }
    return "?";
}

std::string first_with(const Cgroup &cg, const std::string &file)
{
    for (auto &d : cg.all_dirs)
        if (path_exists(d + "/" + file))
            return d + "/" + file;
    return "";
}

} // namespace

TEST_CASE("cgroupfs paths resolve like runc", "[cgroup]")
{
    CHECK(resolve_cgroup_path({"/docker/abc", false, "abc", {}}) == "/docker/abc");
    CHECK(resolve_cgroup_path({"//a/./b/../c/", false, "x", {}}) == "/a/c");
    CHECK(resolve_cgroup_path({"/../../a", false, "x", {}}) == "/a");
    CHECK(resolve_cgroup_path({"a/b", false, "x", {}}) == "a/b");
    CHECK(resolve_cgroup_path({"", false, "myid", {}}) == "myid");
    CHECK_THROWS_WITH(resolve_cgroup_path({"/..", false, "x", {}}),
                      Catch::Contains("names no cgroup of its own"));
}

TEST_CASE("systemd cgroupsPath expands slices into a scope path", "[cgroup]")
{
    auto sd = [](const std::string &p, const std::string &id = "cid") {
        return resolve_cgroup_path({p, true, id, {}});
    };
    CHECK(sd("system.slice:docker:abc") == "/system.slice/docker-abc.scope");
    CHECK(sd("kubepods-besteffort-pod12.slice:cri-containerd:c1") ==
          "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/"
          "cri-containerd-c1.scope");
    CHECK(sd("-.slice:p:n") == "/p-n.scope");
    CHECK(sd(":p:n") == "/system.slice/p-n.scope");
    CHECK(sd("") == "/system.slice/runc-cid.scope");
    CHECK(sd("user.slice:p:my.slice") == "/user.slice/my.slice");
    CHECK_THROWS_WITH(sd("system.slice:docker"), Catch::Contains("slice:prefix:name"));
    CHECK_THROWS_WITH(sd("/docker/abc"), Catch::Contains("slice:prefix:name"));
    CHECK_THROWS_WITH(sd("system:docker:abc"), Catch::Contains("invalid slice name"));
    CHECK_THROWS_WITH(sd("a--b.slice:p:n"), Catch::Contains("invalid slice name"));
    CHECK_THROWS_WITH(sd("-a.slice:p:n"), Catch::Contains("invalid slice name"));
    CHECK_THROWS_WITH(sd(".slice:p:n"), Catch::Contains("invalid slice name"));
    CHECK_THROWS_WITH(sd("system.slice:p:../x"), Catch::Contains("bad unit name"));
}

TEST_CASE("cgroup state round-trips through JSON", "[cgroup]")
{
    Cgroup cg{"/a/b \"q\"", {"/sys/fs/cgroup/memory/a/b"}, {"/sys/fs/cgroup/memory/a/b", "/x"}};
    Cgroup back = cgroup_from_json(cgroup_to_json(cg));
    CHECK(back.relative == cg.relative);
    CHECK(back.dirs == cg.dirs);
    CHECK(back.all_dirs == cg.all_dirs);
    CHECK_THROWS_WITH(cgroup_from_json("{\"dirs\": 3}"), Catch::Contains("dirs"));
    CHECK_THROWS(cgroup_from_json("nope"));
}

TEST_CASE("a child is placed in every hierarchy with its limits, then removed", "[cgroup][privileged]")
{
    if (!can_use_cgroups())
        return;
    std::string name = "/" + unique_name("place");
    CgroupGuard guard;
    Blocker child;
    CgroupRequest req{name, false, "x", {}};
    req.resources.memory_limit = 64 << 20;
    req.resources.pids_limit = 50;
    guard.cg = place_in_cgroup(child.pid, req);
    const Cgroup &cg = guard.cg;

    CHECK(cg.relative == name);
    CHECK(proc_cgroup(child.pid, "memory") == name);
    CHECK(proc_cgroup(child.pid, "pids") == name);
    CHECK(proc_cgroup(child.pid, "name=systemd") == name);
    if (has_cgroup2())
        CHECK(proc_cgroup(child.pid, "") == name);
    CHECK(cg.dirs.size() == cg.all_dirs.size());  // all new, one level each

    std::string v1 = first_with(cg, "memory.limit_in_bytes");
    std::string v2 = first_with(cg, "memory.max");
    REQUIRE((!v1.empty() || !v2.empty()));
    CHECK(std::string(trim(read_file(v1.empty() ? v2 : v1))) == "67108864");
    CHECK(std::string(trim(read_file(first_with(cg, "pids.max")))) == "50");
    CHECK(cgroup_pids(cg) == std::vector<pid_t>{child.pid});

    child.stop();
    CHECK(cgroup_pids(cg).empty());
    CHECK(remove_cgroup(cg) == "");
    for (auto &d : cg.all_dirs)
        CHECK_FALSE(path_exists(d));
    CHECK(remove_cgroup(cg) == "");  // again: nothing left, nothing to complain about
}

TEST_CASE("a cgroup that holds processes is refused and left alone", "[cgroup][privileged]")
{
    if (!can_use_cgroups())
        return;
    std::string name = "/" + unique_name("busy");
    CgroupGuard guard;
    Blocker first, second;
    guard.cg = place_in_cgroup(first.pid, {name, false, "x", {}});
    std::string before = proc_cgroup(second.pid, "memory");
    CHECK_THROWS_WITH(place_in_cgroup(second.pid, {name, false, "x", {}}),
                      Catch::Contains("is not empty: 1 process(es) found"));
    CHECK(proc_cgroup(second.pid, "memory") == before);
    for (auto &d : guard.cg.all_dirs)
        CHECK(path_exists(d));
    CHECK(cgroup_pids(guard.cg) == std::vector<pid_t>{first.pid});
}

TEST_CASE("a failed placement undoes every dir it made", "[cgroup][privileged]")
{
    if (!can_use_cgroups())
        return;
    std::string name = "/" + unique_name("undo");
    Blocker child;
    std::string before = proc_cgroup(child.pid, "memory");
    CgroupRequest req{name + "/leaf", false, "x", {}};
    req.resources.cpuset_cpus = "100000";  // no such cpu: the write fails
    CHECK_THROWS_WITH(place_in_cgroup(child.pid, req), Catch::Contains("cpuset.cpus"));
    CHECK(proc_cgroup(child.pid, "memory") == before);
    CHECK_FALSE(path_exists("/sys/fs/cgroup/memory" + name));
    CHECK_FALSE(path_exists("/sys/fs/cgroup/unified" + name));
    CHECK_FALSE(path_exists("/sys/fs/cgroup" + name));
}

TEST_CASE("a pre-existing empty cgroup is used but not removed", "[cgroup][privileged]")
{
    if (!can_use_cgroups())
        return;
    std::string name = "/" + unique_name("pre");
    CgroupGuard guard;
    Blocker child;
    guard.cg = place_in_cgroup(child.pid, {name, false, "x", {}});
    child.stop();
    // Forget one dir as "ours": a second placement must find it there and keep it.
    std::string kept = guard.cg.all_dirs.front();
    Blocker again;
    Cgroup second = place_in_cgroup(again.pid, {name, false, "x", {}});
    CHECK(second.dirs.empty());
    CHECK(second.all_dirs == guard.cg.all_dirs);
    again.stop();
    CHECK(remove_cgroup(second) == "");
    CHECK(path_exists(kept));
}

TEST_CASE("relative and systemd paths land where runc would put them", "[cgroup][privileged]")
{
    if (!can_use_cgroups())
        return;
    SECTION("relative: under our own v1 cgroup")
    {
        std::string name = unique_name("rel");
        CgroupGuard guard;
        Blocker child;
        std::string own = proc_cgroup(::getpid(), "memory");
        guard.cg = place_in_cgroup(child.pid, {name, false, "x", {}});
        CHECK(proc_cgroup(child.pid, "memory") == join_path(own, name));
    }
    SECTION("systemd: the expanded scope path, never a literal slice:prefix:name dir")
    {
        std::string id = unique_name("sd");
        CgroupGuard guard;
        Blocker child;
        // A slice of our own (no '-': that would nest it under urunc.slice), unique per run.
        std::string slice = "urunctest" + std::to_string(::getpid()) + "x" +
                            std::to_string(std::random_device{}() % 1000000) + ".slice";
        guard.cg = place_in_cgroup(child.pid, {slice + ":scope:" + id, true, id, {}});
        std::string want = "/" + slice + "/scope-" + id + ".scope";
        CHECK(guard.cg.relative == want);
        CHECK(proc_cgroup(child.pid, "memory") == want);
        for (auto &d : guard.cg.all_dirs)
            CHECK(d.find(':') == std::string::npos);
        child.stop();
        CHECK(remove_cgroup(guard.cg) == "");
        CHECK_FALSE(path_exists("/sys/fs/cgroup/memory/" + slice));
    }
}
