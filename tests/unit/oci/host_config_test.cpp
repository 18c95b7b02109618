#include "oci/host_config.hpp"

#include "base/error.hpp"
#include "base/file.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>
#include <unistd.h>

using namespace urunc;
using namespace urunc::oci;

namespace {

// A temp dir removed on scope exit, and URUNC_CONFIG restored.
struct TempEnv {
    std::string dir;
    std::optional<std::string> saved;
    TempEnv()
    {
        char tmpl[] = "/tmp/urunc-hostcfg-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        dir = tmpl;
        if (const char *v = std::getenv("URUNC_CONFIG"))
            saved = v;
    }
    ~TempEnv()
    {
        remove_tree(dir);
        if (saved)
            ::setenv("URUNC_CONFIG", saved->c_str(), 1);
        else
            ::unsetenv("URUNC_CONFIG");
    }
};

HostConfig parse(const std::string &toml)
{
    return parse_host_config(toml, "/etc/urunc/config.toml");
}

}  // namespace

TEST_CASE("host config: empty file gives the defaults", "[oci][hostconfig]")
{
    auto c = parse("");
    CHECK(c.source == "/etc/urunc/config.toml");
    c.source.clear();
    CHECK(c == HostConfig{});
    for (auto name : {"qemu", "firecracker", "hvt", "spt", "cloud-hypervisor"}) {
        INFO(name);
        REQUIRE(c.monitors.count(name));
        // The same as a bare MonitorConfig, but for each VMM's own overhead reserve.
        MonitorConfig bare;
        bare.memory_overhead_mib = c.monitors[name].memory_overhead_mib;
        CHECK(c.monitors[name] == bare);
        CHECK(c.monitors[name].default_memory_mib == 256);
        CHECK(c.monitors[name].default_vcpus == 1);
    }
    CHECK(c.monitors.size() == 5);
    CHECK(c.monitors["qemu"].memory_overhead_mib == 128);  // measured under TCG (bench)
    CHECK(c.monitors["firecracker"].memory_overhead_mib == 32);
    CHECK(c.monitors["cloud-hypervisor"].memory_overhead_mib == 48);
    CHECK(c.monitors["hvt"].memory_overhead_mib == 16);
    CHECK(c.monitors["spt"].memory_overhead_mib == 16);
    CHECK(MonitorConfig{}.memory_overhead_mib == 128);  // a VMM without built-in values
    CHECK(c.runtime.memory_overhead == "reserve");
    CHECK(c.log.level == "info");
    CHECK_FALSE(c.timestamps.enabled);
    CHECK(c.timestamps.destination == "/var/log/urunc/timestamps.log");
    CHECK(c.snapshot_view.allowed_prefixes.empty());
    CHECK(c.snapshot_view.views_dir == "/run/urunc/views");
    // No configured prefix: only the shim's views directory, never anywhere.
    CHECK(c.snapshot_view.effective_prefixes() == std::vector<std::string>{"/run/urunc/views"});
    CHECK(c.view_shim.containerd_address.empty());
    CHECK(c.view_shim.urunc_path.empty());
    CHECK_FALSE(c.runtime.require_kvm);
    CHECK(c.runtime.runc_path == "runc");
    CHECK(c.runtime.cache_dir == "/var/cache/urunc");
}

TEST_CASE("host config: present keys overlay the defaults", "[oci][hostconfig]")
{
    auto c = parse(R"(
[monitors.qemu]
default_vcpus = 2
path = "/opt/qemu/bin/qemu-system-x86_64"
vhost = true

[monitors.hvt]
default_memory_mb = 512   # upstream's name, MiB

[monitors.newvmm]
data_path = "/opt/new"

[log]
level = "warning"
syslog = false                # accepted: it is what urunc does

[snapshot_view]
allowed_prefixes = ["/run/containerd/views/", "//var/lib/./views"]

[runtime]
require_kvm = true
runc_path = "/usr/sbin/runc"

[future_section]
whatever = 1
[timestamps]
unknown_key = "ignored"
)");
    const auto &q = c.monitors.at("qemu");
    CHECK(q.default_vcpus == 2);
    CHECK(q.default_memory_mib == 256);  // absent key keeps its default
    CHECK(q.path == "/opt/qemu/bin/qemu-system-x86_64");
    CHECK(q.vhost);
    CHECK(c.monitors.at("hvt").default_memory_mib == 512);
    CHECK(c.monitors.at("firecracker") == HostConfig::default_monitors().at("firecracker"));
    CHECK(c.monitors.at("newvmm").data_path == "/opt/new");
    CHECK(c.monitors.at("newvmm").default_memory_mib == 256);
    CHECK(c.log.level == "warn");
    CHECK(c.timestamps.destination == "/var/log/urunc/timestamps.log");
    CHECK(c.snapshot_view.allowed_prefixes ==
          std::vector<std::string>{"/run/containerd/views", "/var/lib/views"});
    CHECK(c.runtime.require_kvm);
    CHECK(c.runtime.runc_path == "/usr/sbin/runc");
}

TEST_CASE("host config: log levels map onto ours", "[oci][hostconfig]")
{
    CHECK(parse("[log]\nlevel = \"trace\"").log.level == "debug");
    CHECK(parse("[log]\nlevel = \"debug\"").log.level == "debug");
    CHECK(parse("[log]\nlevel = \"fatal\"").log.level == "error");
    CHECK(parse("[log]\nlevel = \"panic\"").log.level == "error");
    CHECK_THROWS_WITH(parse("[log]\nlevel = \"loud\""),
                      "config `/etc/urunc/config.toml`: line 2: `log.level`: "
                      "`loud` is not one of debug, info, warn, error");
}

TEST_CASE("host config: malformed TOML names file and line", "[oci][hostconfig]")
{
    CHECK_THROWS_WITH(parse("[log]\nlevel = \"info\"\nsyslog = = true\n"),
                      Catch::StartsWith("config `/etc/urunc/config.toml`: line 3, column "));
    CHECK_THROWS_WITH(parse("[log\n"),
                      Catch::StartsWith("config `/etc/urunc/config.toml`: line 1"));
    // Duplicate keys are a TOML error, not a silent override.
    CHECK_THROWS_WITH(parse("[runtime]\nrunc_path = \"a\"\nrunc_path = \"b\"\n"),
                      Catch::StartsWith("config `/etc/urunc/config.toml`: line 3"));
}

TEST_CASE("host config: non-ASCII outside comments is refused before toml++ sees it",
          "[oci][hostconfig][fuzz]")
{
    // toml++ 3.3.0 has undefined behaviour (an unreachable branch) classifying these.
    const std::string e_acute = "\xc3\xa9", u3047 = "\xe3\x81\x87", ufc06 = "\xef\xb0\x86";
    const std::string where = "config `/etc/urunc/config.toml`: line ";
    CHECK_THROWS_WITH(parse("[monitors.qemu]\ndefault_vcpus = 2" + e_acute + "\n"),
                      where + "2, column 18: non-ASCII character (the host config is ASCII "
                              "outside comments)");
    CHECK_THROWS_WITH(parse("[monitors" + u3047 + "]\n"),
                      Catch::StartsWith(where + "1, column 10:"));
    CHECK_THROWS_WITH(parse("[runtime]\nrunc_path = \"/opt/" + ufc06 + "\"\n"),
                      Catch::StartsWith(where + "2, column 19:"));
    // A '#' inside a string does not start a comment; a line-ending backslash in a
    // multi-line string is followed by whitespace toml++ classifies.
    CHECK_THROWS_WITH(parse("[runtime]\nrunc_path = \"/a#" + e_acute + "\"\n"),
                      Catch::StartsWith(where + "2, column 17:"));
    CHECK_THROWS_WITH(parse("[runtime]\nrunc_path = \"\"\"/a\\\n  " + e_acute + "\"\"\"\n"),
                      Catch::StartsWith(where + "3, column 3:"));
    CHECK_THROWS_WITH(parse("[runtime]\nrunc_path = '''/a\n#" + e_acute + "'''\n"),
                      Catch::StartsWith(where + "3, column 2:"));
    // Comments may say anything; after a comment, code is checked again.
    HostConfig c = parse("# Jos" + e_acute + " " + u3047 + "\n[runtime] # " + ufc06 +
                         "\nrunc_path = \"/usr/sbin/runc\" # '\"\n");
    CHECK(c.runtime.runc_path == "/usr/sbin/runc");
    CHECK_THROWS_WITH(parse("# " + e_acute + "\n" + e_acute + " = 1\n"),
                      Catch::StartsWith(where + "2, column 1:"));
}

TEST_CASE("host config: wrong types and values name file, line and key", "[oci][hostconfig]")
{
    struct Case {
        std::string toml, message;
    };
    const std::string F = "config `/etc/urunc/config.toml`: ";
    const Case cases[] = {
        {"[monitors.qemu]\ndefault_vcpus = \"2\"",
         F + "line 2: `monitors.qemu.default_vcpus`: expected an integer, got a string"},
        {"[monitors.qemu]\ndefault_vcpus = 0",
         F + "line 2: `monitors.qemu.default_vcpus`: 0 is out of range [1, 1024]"},
        {"[monitors.fc]\n\ndefault_memory_mib = -1",
         F + "line 3: `monitors.fc.default_memory_mib`: -1 is out of range [1, 4294967296]"},
        {"[monitors.qemu]\nvhost = \"yes\"",
         F + "line 2: `monitors.qemu.vhost`: expected a boolean, got a string"},
        {"[monitors.qemu]\npath = \"bin/qemu\"",
         F + "line 2: `monitors.qemu.path`: `bin/qemu` must be an absolute path"},
        {"monitors = 1", F + "line 1: `monitors`: expected a table, got an integer"},
        {"[monitors]\nqemu = 1", F + "line 2: `monitors.qemu`: expected a table, got an integer"},
        {"log = \"debug\"", F + "line 1: `log`: expected a table, got a string"},
        {"[log]\nsyslog = 1", F + "line 2: `log.syslog`: expected a boolean, got an integer"},
        {"[timestamps]\ndestination = \"ts.log\"",
         F + "line 2: `timestamps.destination`: `ts.log` must be an absolute path"},
        {"[log]\nlevel = \"debug\"\nsyslog = true",
         F + "line 3: `log.syslog`: not supported: urunc logs to --log or stderr (set it to false "
             "or remove it)"},
        {"[extra_binaries.virtiofsd]\npath = \"virtiofsd\"",
         F + "line 2: `extra_binaries.virtiofsd.path`: `virtiofsd` must be an absolute path"},
        {"[extra_binaries.virtiofsd]\ncache = \"auto\"",
         F + "line 1: `extra_binaries.virtiofsd.path`: must be set (the virtiofsd binary) when "
             "the section is present"},
        {"[extra_binaries]\nvirtiofsd = \"/usr/libexec/virtiofsd\"",
         F + "line 2: `extra_binaries.virtiofsd`: expected a table, got a string"},
        {"extra_binaries = 1", F + "line 1: `extra_binaries`: expected a table, got an integer"},
        {"[snapshot_view]\nviews_dir = \"views\"",
         F + "line 2: `snapshot_view.views_dir`: `views` must be an absolute path"},
        {"[view_shim]\nurunc_path = \"bin/urunc\"",
         F + "line 2: `view_shim.urunc_path`: `bin/urunc` must be an absolute path"},
        {"[snapshot_view]\nallowed_prefixes = \"/run\"",
         F + "line 2: `snapshot_view.allowed_prefixes`: expected an array, got a string"},
        {"[snapshot_view]\nallowed_prefixes = [\n\"/run\",\n\"views\"]",
         F + "line 4: `snapshot_view.allowed_prefixes`: every entry must be an absolute path string"},
        {"[runtime]\nrequire_kvm = \"true\"",
         F + "line 2: `runtime.require_kvm`: expected a boolean, got a string"},
        {"[runtime]\nrunc_path = \"./runc\"",
         F + "line 2: `runtime.runc_path`: `./runc` must be a command name or an absolute path"},
        {"[runtime]\ncache_dir = \"var/cache\"",
         F + "line 2: `runtime.cache_dir`: `var/cache` must be an absolute path"},
        {"[runtime]\nrunc_path = \"\"",
         F + "line 2: `runtime.runc_path`: `` must be a command name or an absolute path"},
        {"[runtime]\nmemory_overhead = \"subtract\"",
         F + "line 2: `runtime.memory_overhead`: `subtract` is not one of reserve, add"},
        {"[monitors.qemu]\nmemory_overhead_mib = -1",
         F + "line 2: `monitors.qemu.memory_overhead_mib`: -1 is out of range [0, 4294967296]"},
    };
    for (const auto &[toml, message] : cases) {
        INFO(toml);
        CHECK_THROWS_WITH(parse(toml), message);
    }
}

TEST_CASE("host config: load honours URUNC_CONFIG, missing file means defaults",
          "[oci][hostconfig]")
{
    TempEnv env;
    std::string file = env.dir + "/config.toml";
    ::setenv("URUNC_CONFIG", file.c_str(), 1);
    auto d = load_host_config();
    CHECK(d == HostConfig{});
    CHECK(d.source.empty());

    write_file_atomic(file, "[runtime]\nrequire_kvm = true\n");
    auto c = load_host_config();
    CHECK(c.runtime.require_kvm);
    CHECK(c.source == file);

    write_file_atomic(file, "[runtime]\nrequire_kvm = yes\n");
    CHECK_THROWS_WITH(load_host_config(), Catch::StartsWith("config `" + file + "`: line 2"));

    ::setenv("URUNC_CONFIG", env.dir.c_str(), 1);  // a directory: a real error, not defaults
    CHECK_THROWS_WITH(load_host_config(),
                      Catch::StartsWith("config: read `" + env.dir + "`: Is a directory"));
}

TEST_CASE("host config: JSON round trip for state.json", "[oci][hostconfig]")
{
    HostConfig d;
    CHECK(host_config_from_json(host_config_to_json(d)) == d);

    HostConfig c = parse(R"(
[monitors.qemu]
default_memory_mib = 1024
default_vcpus = 4
memory_overhead_mib = 0
data_path = "/opt/share"
vhost = true
[monitors.extra]
path = "/opt/extra \"vmm\""
[log]
level = "error"
[timestamps]
enabled = true
[snapshot_view]
allowed_prefixes = ["/run/a", "/run/b"]
views_dir = "/var/run//views/"
[view_shim]
containerd_address = "/run/k3s/containerd/containerd.sock"
urunc_path = "/opt/urunc/bin/urunc"
[runtime]
runc_path = "crun"
memory_overhead = "add"
cache_dir = ""
)");
    CHECK(c.snapshot_view.views_dir == "/var/run/views");
    CHECK(c.snapshot_view.effective_prefixes() == std::vector<std::string>{"/run/a", "/run/b"});
    CHECK(c.view_shim.containerd_address == "/run/k3s/containerd/containerd.sock");
    CHECK(c.view_shim.urunc_path == "/opt/urunc/bin/urunc");
    CHECK(c.monitors["qemu"].memory_overhead_mib == 0);
    CHECK(c.monitors["extra"].memory_overhead_mib == 128);
    CHECK(c.runtime.memory_overhead == "add");
    CHECK(c.runtime.cache_dir.empty());  // "" turns the cache off, it is not "absent"
    CHECK(c.log.level == "error");
    std::string json = host_config_to_json(c);
    CHECK(host_config_from_json(json) == c);
    CHECK(host_config_from_json(json).source == "/etc/urunc/config.toml");

    // Older state without some sections: defaults fill in.
    auto partial = host_config_from_json(R"({"runtime": {"require_kvm": true}})");
    CHECK(partial.runtime.require_kvm);
    CHECK(partial.monitors == HostConfig::default_monitors());
    CHECK(partial.runtime.runc_path == "runc");

    // State written before the virtiofsd section and log.syslog were dropped still reads.
    auto older =
        host_config_from_json(R"({"virtiofsd": {"path": "/usr/libexec/virtiofsd", "options": ""},)"
                              R"( "log": {"level": "warn", "syslog": false}})");
    CHECK(older.log.level == "warn");
    // Its `virtiofsd` object was never an opt-in: virtiofs stays off.
    CHECK(older.extra_binaries.virtiofsd.empty());
}

TEST_CASE("host config: [extra_binaries.virtiofsd] path opts in to virtiofs", "[oci][hostconfig]")
{
    CHECK(parse_host_config("", "f").extra_binaries.virtiofsd.empty());
    auto c =
        parse_host_config("[extra_binaries.virtiofsd]\npath = \"/usr/lib/qemu/virtiofsd\"\n", "f");
    CHECK(c.extra_binaries.virtiofsd == "/usr/lib/qemu/virtiofsd");
    auto back = host_config_from_json(host_config_to_json(c));
    CHECK(back.extra_binaries.virtiofsd == "/usr/lib/qemu/virtiofsd");
    CHECK(back == c);
}

TEST_CASE("host config: malformed JSON is refused", "[oci][hostconfig]")
{
    CHECK_THROWS_WITH(host_config_from_json("{"), Catch::StartsWith("host config json: "));
    CHECK_THROWS_WITH(host_config_from_json("[]"), Catch::Contains("must be an object"));
    CHECK_THROWS_WITH(host_config_from_json(R"({"log": {"level": 1}})"),
                      "host config json: `log.level`: expected a string");
    CHECK_THROWS_WITH(host_config_from_json(R"({"runtime": {"require_kvm": "yes"}})"),
                      "host config json: `runtime.require_kvm`: expected a boolean");
    CHECK_THROWS_WITH(
        host_config_from_json(R"({"monitors": {"qemu": {"default_vcpus": -1}}})"),
        "host config json: `monitors.qemu.default_vcpus`: expected an unsigned integer");
    CHECK_THROWS_WITH(host_config_from_json(R"({"monitors": {"qemu": 3}})"),
                      "host config json: `monitors.qemu`: expected an object");
    CHECK_THROWS_WITH(host_config_from_json(R"({"snapshot_view": {"allowed_prefixes": [1]}})"),
                      Catch::Contains("`snapshot_view.allowed_prefixes`"));
}

// Found by fuzzing: the state copy of the host config is parsed without recursion too.
TEST_CASE("host config json: deep nesting is an error, not a stack overflow",
          "[oci][hostconfig][fuzz]")
{
    CHECK_THROWS_WITH(host_config_from_json(std::string(1'000'000, '[')),
                      Catch::StartsWith("host config json: "));
}
