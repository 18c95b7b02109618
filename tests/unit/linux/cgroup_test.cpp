#include "linux/cgroup.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "rootfs/mountinfo.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../privileged.hpp"

#include <catch2/catch.hpp>

#include <random>

#include <sys/mount.h>
#include <sys/stat.h>

using namespace urunc;
using namespace urunc::oci;
using namespace urunc::linux;

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

bool has_cgroup2()
{
    return read_file("/proc/self/mountinfo").find(" - cgroup2 ") != std::string::npos;
}

// The path of `pid` for the v1 hierarchy holding `ctrl`, or for cgroup2 with ctrl == ""
// or when no v1 hierarchy holds `ctrl` (a cgroup2-only host).
std::string proc_cgroup(pid_t pid, const std::string &ctrl)
{
    std::string v2 = "?";
    for (auto &line : split(read_file("/proc/" + std::to_string(pid) + "/cgroup"), '\n')) {
        auto f = split(line, ':');
        if (f.size() < 3)
            continue;
        auto ctrls = split(f[1], ',');
        std::string path = line.substr(f[0].size() + f[1].size() + 2);
        if (f[0] == "0" && f[1].empty())
            v2 = path;
        else if (!ctrl.empty() && std::find(ctrls.begin(), ctrls.end(), ctrl) != ctrls.end())
            return path;
    }
    return v2;
}

// Every cgroup and cgroup2 mount of this host, as place_in_cgroup() finds them.
struct MountedCgroup {
    std::string mountpoint, root;
    bool v2;
};
std::vector<MountedCgroup> mounted_cgroups()
{
    std::vector<MountedCgroup> out;
    for (auto &line : split(read_file("/proc/self/mountinfo"), '\n')) {
        auto f = split(line, ' ');
        auto sep = std::find(f.begin(), f.end(), "-");
        if (f.size() < 5 || sep == f.end() || f.end() - sep < 2)
            continue;
        if (sep[1] == "cgroup" || sep[1] == "cgroup2")
            out.push_back({f[4], f[3], sep[1] == "cgroup2"});
    }
    return out;
}

// A cgroup named `name` (absolute) in no mounted hierarchy.
bool in_no_hierarchy(const std::string &name)
{
    for (auto &m : mounted_cgroups())
        if (path_exists(m.mountpoint + name))
            return false;
    return true;
}

std::string first_with(const Cgroup &cg, const std::string &file)
{
    for (auto &d : cg.all_dirs)
        if (path_exists(d + "/" + file))
            return d + "/" + file;
    return "";
}

}  // namespace

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

TEST_CASE("a child is placed in every hierarchy with its limits, then removed",
          "[cgroup][privileged]")
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

TEST_CASE("remove_cgroup: child cgroups someone made inside ours go too, nested, in every "
          "hierarchy",
          "[cgroup][privileged]")
{
    if (!can_use_cgroups())
        return;
    std::string name = "/" + unique_name("kids");
    CgroupGuard guard;
    Blocker child;
    guard.cg = place_in_cgroup(child.pid, {name, false, "x", {}});
    child.stop();
    // As a shim or the workload would: a nested child in some leaves, a plain one in others.
    for (size_t i = 0; i < guard.cg.all_dirs.size(); ++i) {
        const std::string &d = guard.cg.all_dirs[i];
        REQUIRE(::mkdir((d + "/shim").c_str(), 0755) == 0);
        if (i % 2 == 0)
            REQUIRE(::mkdir((d + "/shim/sub").c_str(), 0755) == 0);
    }
    CHECK(remove_cgroup(guard.cg) == "");
    for (auto &d : guard.cg.all_dirs)
        CHECK_FALSE(path_exists(d));
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
    CHECK(in_no_hierarchy(name));
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
        CHECK(in_no_hierarchy("/" + slice));
    }
}

namespace {

// A fake cgroup2 hierarchy: a tmpfs (removed with this object) holding the files the kernel
// would show, each empty so that what is read back is exactly what urunc wrote.
struct FakeCgroup2 {
    std::string mnt;
    FakeCgroup2()
    {
        char tmpl[] = "/tmp/urunc-fakecg2.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        mnt = tmpl;
        REQUIRE(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "mode=0755,size=1m") == 0);
        put("", "cgroup.controllers", "cpuset cpu io memory pids\n");
        put("", "cgroup.subtree_control", "");
        put("", "cgroup.procs", "");
    }
    ~FakeCgroup2()
    {
        ::umount2(mnt.c_str(), MNT_DETACH);
        ::rmdir(mnt.c_str());
    }
    void put(const std::string &rel, const std::string &file, const std::string &content)
    {
        std::string dir = mnt + rel;
        ::mkdir(dir.c_str(), 0755);
        write_file_atomic(dir + "/" + file, content);
    }
    // A cgroup that exists, empty, with these controllers enabled and their limit files.
    void leaf(const std::string &rel, const std::string &controllers)
    {
        put(rel, "cgroup.controllers", controllers + "\n");
        put(rel, "cgroup.procs", "");
        for (const char *f : {"memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max"})
            put(rel, f, "");
    }
    std::string get(const std::string &rel, const std::string &file)
    {
        return std::string(trim(read_file(mnt + rel + "/" + file)));
    }
    std::vector<CgroupMount> hierarchies() const { return {CgroupMount{mnt, "/", true, {}}}; }
};

}  // namespace

TEST_CASE("cgroup2 (fake tree): memory.max, the swap part alone, cpu.max, cpu.weight, pids.max",
          "[cgroup][cgroup2][privileged]")
{
    REQUIRE_PRIVILEGED("a tmpfs mount");
    FakeCgroup2 fake;
    std::string name = "/" + unique_name("v2");
    fake.leaf(name, "cpu memory pids");
    Blocker child;
    CgroupRequest req{name, false, "x", {}};
    req.resources.memory_limit = 64 << 20;
    req.resources.memory_swap = 96 << 20;  // memory+swap, as OCI says it
    req.resources.cpu_quota = 50000;
    req.resources.cpu_period = 200000;
    req.resources.cpu_shares = 1024;
    req.resources.pids_limit = 42;
    Cgroup cg = place_in_cgroup(child.pid, req, fake.hierarchies());
    CHECK(cg.all_dirs == std::vector<std::string>{fake.mnt + name});
    CHECK(cg.dirs.empty());  // it was there before: not ours to remove
    CHECK(fake.get(name, "memory.max") == "67108864");
    CHECK(fake.get(name, "memory.swap.max") == "33554432");  // 96 - 64 MiB: the swap alone
    CHECK(fake.get(name, "cpu.max") == "50000 200000");
    CHECK(fake.get(name, "cpu.weight") == "39");  // runc's map of the default 1024 shares
    CHECK(fake.get(name, "pids.max") == "42");
    CHECK(fake.get(name, "cgroup.procs") == std::to_string(child.pid));
}

TEST_CASE("cgroup2 (fake tree): unlimited values are written as max",
          "[cgroup][cgroup2][privileged]")
{
    REQUIRE_PRIVILEGED("a tmpfs mount");
    FakeCgroup2 fake;
    std::string name = "/" + unique_name("v2max");
    fake.leaf(name, "cpu memory pids");
    Blocker child;
    CgroupRequest req{name, false, "x", {}};
    req.resources.memory_limit = -1;
    req.resources.memory_swap = -1;
    req.resources.cpu_quota = -1;
    req.resources.pids_limit = -1;
    place_in_cgroup(child.pid, req, fake.hierarchies());
    CHECK(fake.get(name, "memory.max") == "max");
    CHECK(fake.get(name, "memory.swap.max") == "max");
    CHECK(fake.get(name, "cpu.max") == "max 100000");  // the kernel's default period
    CHECK(fake.get(name, "pids.max") == "max");
}

TEST_CASE("cgroup2 (fake tree): a limit without its controller, or swap below memory, is refused "
          "and the pid is not moved",
          "[cgroup][cgroup2][privileged]")
{
    REQUIRE_PRIVILEGED("a tmpfs mount");
    FakeCgroup2 fake;
    std::string name = "/" + unique_name("v2no");
    fake.leaf(name, "cpu memory");
    Blocker child;
    SECTION("no pids controller")
    {
        CgroupRequest req{name, false, "x", {}};
        req.resources.pids_limit = 10;
        CHECK_THROWS_WITH(place_in_cgroup(child.pid, req, fake.hierarchies()),
                          "cannot set pids limit: no pids controller is available");
    }
    SECTION("memory+swap below the memory limit")
    {
        CgroupRequest req{name, false, "x", {}};
        req.resources.memory_limit = 64 << 20;
        req.resources.memory_swap = 32 << 20;
        CHECK_THROWS_WITH(place_in_cgroup(child.pid, req, fake.hierarchies()),
                          Catch::Contains("needs a memory limit no larger than it"));
        CHECK(fake.get(name, "memory.swap.max").empty());
    }
    CHECK(fake.get(name, "cgroup.procs").empty());
    CHECK(fake.get(name, "pids.max").empty());
}

TEST_CASE("cgroup2 on this host's unified hierarchy: limits where its controllers allow, a clear "
          "refusal where they do not",
          "[cgroup][cgroup2][privileged]")
{
    if (!can_use_cgroups())
        return;
    std::vector<CgroupMount> v2;
    for (auto &m : mounted_cgroups())
        if (m.v2 && v2.empty())
            v2.push_back(CgroupMount{m.mountpoint, m.root, true, {}});
    INFO("CI hosts mount cgroup2 (alone, or as the unified hierarchy of a hybrid host)");
    REQUIRE(v2.size() == 1);
    std::string name = "/" + unique_name("uni");
    std::string dir = v2[0].mountpoint + name;
    auto ctrls = split_ws(read_file(v2[0].mountpoint + "/cgroup.controllers"));
    auto has = [&](const char *c) {
        return std::find(ctrls.begin(), ctrls.end(), c) != ctrls.end();
    };
    Blocker child;
    CgroupGuard guard;

    CgroupRequest req{name, false, "x", {}};
    req.resources.memory_limit = 48 << 20;
    req.resources.pids_limit = 30;
    req.resources.cpu_quota = 20000;
    if (has("memory") && has("pids") && has("cpu")) {
        guard.cg = place_in_cgroup(child.pid, req, v2);
        CHECK(std::string(trim(read_file(dir + "/memory.max"))) == "50331648");
        CHECK(std::string(trim(read_file(dir + "/pids.max"))) == "30");
        CHECK(std::string(trim(read_file(dir + "/cpu.max"))) == "20000 100000");
    } else {
        // A hybrid host whose controllers are all bound to v1 (as the project's machines):
        // the asked limit is refused by name and nothing is left in the hierarchy.
        std::string missing = !has("cpu") ? "cpu" : !has("memory") ? "memory" : "pids";
        CHECK_THROWS_WITH(place_in_cgroup(child.pid, req, v2), "cannot set " + missing +
                                                                   " limit: no " + missing +
                                                                   " controller is available");
        CHECK_FALSE(path_exists(dir));
        // Without limits the placement itself works on the unified hierarchy.
        guard.cg = place_in_cgroup(child.pid, {name, false, "x", {}}, v2);
    }
    CHECK(proc_cgroup(child.pid, "") == name);
    CHECK(cgroup_pids(guard.cg) == std::vector<pid_t>{child.pid});
    child.stop();
    CHECK(remove_cgroup(guard.cg) == "");
    CHECK_FALSE(path_exists(dir));
}

TEST_CASE("cgroup mounts: read from mountinfo's cgroup lines", "[cgroup]")
{
    const std::string text =
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "30 22 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
        "32 30 0:28 / /sys/fs/cgroup/systemd rw shared:11 master:3 - cgroup cgroup "
        "rw,xattr,name=systemd\n"
        "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw shared:12 - cgroup cgroup rw,cpu,cpuacct\n"
        "34 30 0:30 /sub /sys/fs/cgroup/my\\040mem rw - cgroup cgroup rw,memory,clone_children\n"
        "35 22 0:29 / /mnt/cpu-again rw - cgroup cgroup rw,cpu,cpuacct\n"  // same hierarchy
        "36 22 0:31 / /mnt/pids rw - cgroup none rw,pids,release_agent=/x\n";
    auto m = cgroup_mounts(text, "mi");
    REQUIRE(m.size() == 5);
    CHECK(m[0].mountpoint == "/sys/fs/cgroup/unified");
    CHECK(m[0].v2);
    CHECK(m[0].controllers.empty());
    CHECK(m[1].controllers == std::set<std::string>{"name=systemd"});
    CHECK(m[2].mountpoint == "/sys/fs/cgroup/cpu,cpuacct");
    CHECK(m[2].controllers == std::set<std::string>{"cpu", "cpuacct"});
    CHECK(m[3].mountpoint == "/sys/fs/cgroup/my mem");  // \040 unescaped
    CHECK(m[3].root == "/sub");
    CHECK(m[3].controllers == std::set<std::string>{"memory"});
    CHECK(m[4].controllers == std::set<std::string>{"pids"});  // key=value options are not
    CHECK_FALSE(m[4].v2);

    CHECK(cgroup_mounts("", "mi").empty());
    CHECK_THROWS_WITH(cgroup_mounts("1 2 0:3 / - cgroup cgroup rw,cpu\n", "mi"),
                      "parse `mi`: line 1 is malformed");
}

TEST_CASE("cgroup mounts: this host's, as libmount reads them", "[cgroup]")
{
    const std::string file = "/proc/self/mountinfo";
    auto ours = cgroup_mounts(read_file(file), file);
    std::vector<std::pair<std::string, std::string>> expected;  // mountpoint, root
    std::set<std::pair<unsigned, unsigned>> seen;
    const auto table = rootfs::MountInfo::load(file);
    for (const auto &e : table.entries())
        if ((e.fstype == "cgroup" || e.fstype == "cgroup2") &&
            seen.insert({e.major, e.minor}).second)
            expected.emplace_back(e.mountpoint, e.root);
    REQUIRE(ours.size() == expected.size());
    for (size_t i = 0; i < ours.size(); ++i) {
        CHECK(ours[i].mountpoint == expected[i].first);
        CHECK(ours[i].root == expected[i].second);
    }
}
