// The verbs beyond the lifecycle: runc-style argv scanning, the freezer, cgroup stats and
// update, on fake cgroup trees (file format logic) and on a real cgroup2 directory.
#include "linux/cgroup_freezer.hpp"
#include "linux/cgroup_stats.hpp"
#include "linux/cgroup_update.hpp"
#include "oci/verb_args.hpp"
#include "container/verbs.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

#include <random>

using namespace urunc;
using namespace urunc::oci;
using namespace urunc::linux;
using namespace urunc::container;

namespace {

// A temp directory standing in for cgroup directories, removed at the end.
struct TempTree {
    std::string path;
    TempTree()
    {
        char tmpl[] = "/tmp/urunc-verbs-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempTree() { remove_tree(path); }
    std::string dir(const std::string &name) const
    {
        std::string d = path + "/" + name;
        ::mkdir(d.c_str(), 0755);
        return d;
    }
};

void put(const std::string &dir, const std::string &file, const std::string &text)
{
    write_file_atomic(dir + "/" + file, text, 0644);
}

std::string get(const std::string &dir, const std::string &file)
{
    return std::string(trim(read_file(dir + "/" + file)));
}

std::vector<std::string> argv(std::initializer_list<const char *> l)
{
    std::vector<std::string> v = {"urunc"};
    for (auto *s : l)
        v.emplace_back(s);
    return v;
}

}  // namespace

TEST_CASE("scan_command: globals, verb, runc's flag forms and the id", "[verbs]")
{
    auto c = scan_command(
        argv({"--root", "/r", "--log=/l", "-debug", "exec", "-e", "A=1", "--env=B=2", "-t",
              "--process", "/p.json", "-d", "--pid-file=/x.pid", "id1", "sh", "-c", "echo"}));
    CHECK(c.verb == "exec");
    CHECK(c.global("root") == "/r");
    CHECK(c.global("log") == "/l");
    CHECK(c.global("debug") == "");
    CHECK(c.all("env") == std::vector<std::string>{"A=1", "B=2"});
    CHECK(c.has("tty"));
    CHECK(c.has("detach"));
    CHECK(c.flag("process") == "/p.json");
    CHECK(c.flag("pid-file") == "/x.pid");
    CHECK(c.unknown.empty());
    REQUIRE(c.positionals.size() == 4);
    CHECK(c.positionals[0] == "id1");
    CHECK(c.positionals[1] == "sh");
    CHECK(c.positionals[2] == "-c");  // after the id, flags belong to the command

    auto u = scan_command(argv({"update", "-r", "-", "--memory", "1g", "--bogus", "ctr"}));
    CHECK(u.flag("resources") == "-");
    CHECK(u.flag("memory") == "1g");
    CHECK(u.unknown == std::vector<std::string>{"--bogus"});
    REQUIRE(u.positionals.size() == 1);
    CHECK(u.positionals[0] == "ctr");

    auto e = scan_command(argv({"events", "--stats", "--", "-odd-id"}));
    CHECK(e.has("stats"));
    CHECK(e.positionals == std::vector<std::string>{"-odd-id"});

    auto r = scan_command(argv({"restore", "-no-subreaper", "-b", "/b", "id"}));
    CHECK(r.has("no-subreaper"));
    CHECK(r.flag("bundle") == "/b");

    CHECK(scan_command(argv({"--root", "/r", "state", "x"})).verb == "state");
    CHECK_FALSE(is_raw_verb("state"));
    CHECK(is_raw_verb("exec"));
    CHECK(is_raw_verb("spec"));
    CHECK(scan_command(argv({"--debug"})).verb.empty());
}

TEST_CASE("parse_size and parse_go_duration_ms: runc's syntaxes", "[verbs]")
{
    CHECK(parse_size("--memory", "1048576") == 1048576);
    CHECK(parse_size("--memory", "512m") == 512ll << 20);
    CHECK(parse_size("--memory", "2G") == 2ll << 30);
    CHECK(parse_size("--memory", "4kb") == 4096);
    CHECK(parse_size("--memory", "1MiB") == 1 << 20);
    CHECK(parse_size("--memory-swap", "-1") == -1);
    CHECK_THROWS_WITH(parse_size("--memory", "lots"), Catch::Contains("--memory"));
    CHECK_THROWS(parse_size("--memory", "5x"));
    CHECK_THROWS(parse_size("--memory", "99999999999999999999"));
    CHECK(parse_go_duration_ms("5s") == 5000);
    CHECK(parse_go_duration_ms("100ms") == 100);
    CHECK(parse_go_duration_ms("1m30s") == 90000);
    CHECK(parse_go_duration_ms("1.5s") == 1500);
    CHECK(parse_go_duration_ms("0.4ms") == 0);
    CHECK(parse_go_duration_ms("0.5ms") == 1);
    CHECK(parse_go_duration_ms("2562047h") == 9223369200000LL);
    CHECK_THROWS_WITH(parse_go_duration_ms("2562048h"),
                      "invalid duration `2562048h`: out of range");
    CHECK_THROWS_WITH(parse_go_duration_ms("99999999999999999999h"),
                      Catch::EndsWith("out of range"));
    CHECK_THROWS(parse_go_duration_ms("5"));
    CHECK_THROWS(parse_go_duration_ms("s"));
    CHECK_THROWS(parse_go_duration_ms("3 days"));
}

TEST_CASE("parse_resources_json: LinuxResources as runc's update reads it", "[verbs]")
{
    auto u = parse_resources_json(R"({"memory":{"limit":1073741824,"swap":-1,"reservation":0},
        "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0-1","mems":""},"pids":{"limit":10}})");
    CHECK(u.memory == 1073741824);
    CHECK(u.memory_swap == -1);
    CHECK_FALSE(u.memory_reservation);  // 0 = unchanged
    CHECK(u.cpu_shares == 512u);
    CHECK(u.cpu_quota == 50000);
    CHECK(u.cpu_period == 100000u);
    CHECK(u.cpuset_cpus == "0-1");
    CHECK_FALSE(u.cpuset_mems);  // "" = unchanged
    CHECK(u.pids_limit == 10);
    CHECK(u.unsupported.empty());
    CHECK(parse_resources_json("{}").empty());
    auto rt = parse_resources_json(R"({"cpu":{"realtimeRuntime":5},"blockIO":{"weight":100}})");
    CHECK(rt.unsupported.size() == 2);
    CHECK_THROWS_WITH(parse_resources_json("{"), Catch::Contains("resources JSON"));
    CHECK_THROWS_WITH(parse_resources_json(R"({"memory":{"limit":"1g"}})"),
                      Catch::Contains("memory.limit"));
    CHECK_THROWS(parse_resources_json("[]"));
}

TEST_CASE("freezer v1 (fake tree): FROZEN/THAWED written and read back", "[verbs][freezer]")
{
    TempTree t;
    std::string fz = t.dir("freezer"), mem = t.dir("memory");
    put(fz, "freezer.state", "THAWED\n");
    Freezer f = find_freezer({mem, fz});
    REQUIRE(f.kind == Freezer::Kind::v1);
    CHECK(f.dirs == std::vector<std::string>{fz});
    CHECK_FALSE(is_frozen(f));
    freeze(f, 100);
    CHECK(get(fz, "freezer.state") == "FROZEN");
    CHECK(is_frozen(f));
    thaw(f, 100);
    CHECK(get(fz, "freezer.state") == "THAWED");
    CHECK_FALSE(is_frozen(f));
    // no freezer at all
    CHECK(find_freezer({mem}).kind == Freezer::Kind::none);
    CHECK_THROWS_WITH(freeze(find_freezer({mem})), Catch::Contains("no cgroup freezer"));
}

TEST_CASE("freezer v2 (fake tree): waits for cgroup.events, thaws back on timeout",
          "[verbs][freezer]")
{
    TempTree t;
    std::string d = t.dir("unified");
    put(d, "cgroup.freeze", "0\n");
    put(d, "cgroup.events", "populated 1\nfrozen 1\n");  // the fake "kernel" has finished
    Freezer f = find_freezer({d});
    REQUIRE(f.kind == Freezer::Kind::v2);
    freeze(f, 100);
    CHECK(get(d, "cgroup.freeze") == "1");
    CHECK(is_frozen(f));
    // a freeze that never completes: Error after the timeout, and cgroup.freeze back to 0
    put(d, "cgroup.freeze", "0\n");
    put(d, "cgroup.events", "populated 1\nfrozen 0\n");
    CHECK_THROWS_WITH(freeze(f, 50), Catch::Contains("frozen did not become 1"));
    CHECK(get(d, "cgroup.freeze") == "0");
    CHECK_FALSE(is_frozen(f));
    // a v1 freezer dir wins over cgroup2 dirs (hybrid host)
    std::string fz = t.dir("freezer");
    put(fz, "freezer.state", "THAWED\n");
    CHECK(find_freezer({d, fz}).kind == Freezer::Kind::v1);
}

TEST_CASE("freezer v2 on a real cgroup2 directory: the task is frozen and thawed",
          "[verbs][freezer][root]")
{
    std::string mount;
    for (auto &line : split(read_file("/proc/self/mountinfo"), '\n')) {
        auto f = split_ws(line);
        auto sep = std::find(f.begin(), f.end(), "-");
        if (sep != f.end() && sep + 1 != f.end() && sep[1] == "cgroup2")
            mount = f[4];
    }
    REQUIRE_FALSE(mount.empty());
    std::string dir = mount + "/urunc-unit-freeze-" + std::to_string(::getpid()) + "-" +
                      std::to_string(std::random_device{}() % 100000);
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        for (;;)
            ::pause();
    }
    auto cleanup = [&] {
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        ::rmdir(dir.c_str());
    };
    try {
        {
            UniqueFd fd(::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
            REQUIRE(fd);
            std::string pid = std::to_string(child);
            REQUIRE(::write(fd.get(), pid.data(), pid.size()) == static_cast<ssize_t>(pid.size()));
        }
        Freezer f = find_freezer({dir});
        REQUIRE(f.kind == Freezer::Kind::v2);
        freeze(f);
        CHECK(is_frozen(f));
        CHECK(read_file(dir + "/cgroup.events").find("frozen 1") != std::string::npos);
        thaw(f);
        CHECK_FALSE(is_frozen(f));
        CHECK(read_file(dir + "/cgroup.events").find("frozen 0") != std::string::npos);
    } catch (...) {
        cleanup();
        throw;
    }
    cleanup();
}

TEST_CASE("cgroup_stats_json: runc's layout from v1 files", "[verbs][stats]")
{
    TempTree t;
    std::string acct = t.dir("cpuacct"), cpu = t.dir("cpu"), mem = t.dir("memory"),
                pids = t.dir("pids");
    put(acct, "cpuacct.usage", "123456\n");
    put(acct, "cpuacct.usage_percpu", "100000 23456 \n");
    put(acct, "cpuacct.stat", "user 3\nsystem 2\n");
    put(cpu, "cpu.cfs_quota_us", "-1\n");
    put(cpu, "cpu.stat", "nr_periods 7\nnr_throttled 2\nthrottled_time 900\n");
    put(mem, "memory.usage_in_bytes", "4096\n");
    put(mem, "memory.limit_in_bytes", "9223372036854771712\n");
    put(mem, "memory.max_usage_in_bytes", "8192\n");
    put(mem, "memory.failcnt", "0\n");
    put(mem, "memory.stat", "rss 4096\ncache 0\n");
    put(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    put(pids, "pids.current", "2\n");
    put(pids, "pids.max", "max\n");
    std::vector<std::string> dirs = {cpu, acct, mem, pids};
    rapidjson::Document d;
    std::string j = cgroup_stats_json(dirs);
    d.Parse(j.c_str());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(d["cpu"]["usage"]["total"].GetUint64() == 123456);
    CHECK(d["cpu"]["usage"]["percpu"].Size() == 2);
    uint64_t tick = 1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    CHECK(d["cpu"]["usage"]["user"].GetUint64() == 3 * tick);
    CHECK(d["cpu"]["usage"]["kernel"].GetUint64() == 2 * tick);
    CHECK(d["cpu"]["throttling"]["throttled_periods"].GetUint64() == 2);
    CHECK(d["memory"]["usage"]["usage"].GetUint64() == 4096);
    CHECK(d["memory"]["usage"]["max"].GetUint64() == 8192);
    CHECK(d["memory"]["raw"]["rss"].GetUint64() == 4096);
    CHECK(d["pids"]["current"].GetUint64() == 2);
    CHECK_FALSE(d["pids"].HasMember("limit"));  // "max": left out, as runc
    CHECK(d["network_interfaces"].IsNull());
    CHECK(cgroup_oom_kills(dirs) == 3);
}

TEST_CASE("cgroup_stats_json: runc's layout from cgroup2 files", "[verbs][stats]")
{
    TempTree t;
    std::string d2 = t.dir("unified");
    put(d2, "cgroup.controllers", "cpu memory pids\n");
    put(d2, "cpu.stat",
        "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 1\nnr_throttled 0\nthrottled_usec 0\n");
    put(d2, "memory.current", "65536\n");
    put(d2, "memory.max", "max\n");
    put(d2, "memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n");
    put(d2, "memory.stat", "anon 65536\n");
    put(d2, "pids.current", "1\n");
    put(d2, "pids.max", "64\n");
    rapidjson::Document d;
    std::string j = cgroup_stats_json({d2});
    d.Parse(j.c_str());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(d["cpu"]["usage"]["total"].GetUint64() == 10000);
    CHECK(d["cpu"]["usage"]["user"].GetUint64() == 6000);
    CHECK(d["memory"]["usage"]["usage"].GetUint64() == 65536);
    CHECK(d["memory"]["usage"]["limit"].GetUint64() == UINT64_MAX);
    CHECK(d["memory"]["usage"]["failcnt"].GetUint64() == 5);
    CHECK(d["pids"]["limit"].GetUint64() == 64);
    CHECK(cgroup_oom_kills({d2}) == 1);
}

TEST_CASE("update_cgroup v1 (fake tree): memory+swap order, cpu, cpuset, pids", "[verbs][update]")
{
    TempTree t;
    std::string mem = t.dir("memory"), cpu = t.dir("cpu"), cs = t.dir("cpuset"),
                pids = t.dir("pids");
    put(mem, "memory.limit_in_bytes", "1000\n");
    put(mem, "memory.memsw.limit_in_bytes", "1000\n");
    put(mem, "memory.soft_limit_in_bytes", "0\n");
    put(cpu, "cpu.cfs_quota_us", "-1\n");
    put(cpu, "cpu.cfs_period_us", "100000\n");
    put(cpu, "cpu.shares", "1024\n");
    put(cs, "cpuset.cpus", "0-1\n");
    put(cs, "cpuset.mems", "0\n");
    put(pids, "pids.max", "max\n");
    std::vector<std::string> dirs = {mem, cpu, cs, pids};
    ResourceUpdate u;
    u.memory = 4096;
    u.memory_swap = 8192;
    u.memory_reservation = 2048;
    u.cpu_shares = 512;
    u.cpu_quota = 20000;
    u.cpu_period = 50000;
    u.cpuset_cpus = "0";
    u.pids_limit = 0;  // runc: <= 0 is unlimited
    update_cgroup(dirs, u);
    CHECK(get(mem, "memory.limit_in_bytes") == "4096");
    CHECK(get(mem, "memory.memsw.limit_in_bytes") == "8192");
    CHECK(get(mem, "memory.soft_limit_in_bytes") == "2048");
    CHECK(get(cpu, "cpu.shares") == "512");
    CHECK(get(cpu, "cpu.cfs_quota_us") == "20000");
    CHECK(get(cpu, "cpu.cfs_period_us") == "50000");
    CHECK(get(cs, "cpuset.cpus") == "0");
    CHECK(get(cs, "cpuset.mems") == "0");
    CHECK(get(pids, "pids.max") == "max");
    // swap asked but no swap accounting: refused
    ::unlink((mem + "/memory.memsw.limit_in_bytes").c_str());
    ResourceUpdate s;
    s.memory_swap = 1;
    CHECK_THROWS_WITH(update_cgroup(dirs, s), Catch::Contains("swap accounting"));
    // a controller the container has no directory for
    ResourceUpdate p;
    p.pids_limit = 5;
    CHECK_THROWS_WITH(update_cgroup({mem}, p), Catch::Contains("no pids cgroup"));
}

TEST_CASE("update_cgroup v2 (fake tree): memory.max, swap part alone, cpu.max kept in step",
          "[verbs][update]")
{
    TempTree t;
    std::string d = t.dir("unified");
    put(d, "memory.max", "max\n");
    put(d, "memory.swap.max", "max\n");
    put(d, "memory.low", "0\n");
    put(d, "cpu.max", "max 100000\n");
    put(d, "cpu.weight", "100\n");
    put(d, "pids.max", "max\n");
    ResourceUpdate u;
    u.memory = 1 << 20;
    u.memory_swap = 3 << 20;
    u.cpu_quota = 25000;
    u.pids_limit = 9;
    update_cgroup({d}, u);
    CHECK(get(d, "memory.max") == std::to_string(1 << 20));
    CHECK(get(d, "memory.swap.max") == std::to_string(2 << 20));
    CHECK(get(d, "cpu.max") == "25000 100000");  // the period kept
    CHECK(get(d, "pids.max") == "9");
    ResourceUpdate p;
    p.cpu_period = 200000;
    p.cpu_shares = 2;
    update_cgroup({d}, p);
    CHECK(get(d, "cpu.max") == "25000 200000");  // the quota kept
    CHECK(get(d, "cpu.weight") == "1");
    ResourceUpdate bad;
    bad.memory = 4 << 20;
    bad.memory_swap = 1 << 20;
    CHECK_THROWS_WITH(update_cgroup({d}, bad), Catch::Contains("no larger than it"));
    ResourceUpdate unl;
    unl.memory = -1;
    update_cgroup({d}, unl);
    CHECK(get(d, "memory.max") == "max");
}
