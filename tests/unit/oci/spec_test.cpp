#include "base/error.hpp"
#include "oci/signals.hpp"
#include "oci/spec.hpp"
#include "oci/state.hpp"

#include <catch2/catch.hpp>

#include <csignal>

using namespace urunc;
using namespace urunc::oci;

namespace {

const char *kMinimal =
    R"({"ociVersion":"1.0.2","process":{"args":["a"],"cwd":"/"},"root":{"path":"rootfs"}})";

std::string error_of(const std::string &json)
{
    try {
        parse_spec(json, "/b");
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("spec: a minimal config parses, relative root is bundle-relative", "[spec]")
{
    Spec s = parse_spec(kMinimal, "/run/b");
    CHECK(s.oci_version == "1.0.2");
    CHECK(s.root_path == "/run/b/rootfs");
    CHECK(s.args == std::vector<std::string>{"a"});
    CHECK_FALSE(s.has_linux);
    CHECK_FALSE(s.capabilities.has_value());
}

TEST_CASE("spec: errors name the JSON path", "[spec]")
{
    CHECK(error_of("{").find("config.json: invalid JSON at offset") == 0);
    CHECK(error_of(R"({"process":{},"root":{"path":"r"}})") == "config.json: ociVersion: missing");
    CHECK(error_of(R"({"ociVersion":"1","root":{"path":"r"}})") == "config.json: process: missing");
    CHECK(error_of(R"({"ociVersion":"1","process":{"args":["a",3]},"root":{"path":"r"}})") ==
          "config.json: process.args[1]: expected a string");
    CHECK(error_of(R"({"ociVersion":"1","process":{"cwd":"rel"},"root":{"path":"r"}})") ==
          "config.json: process.cwd: must be an absolute path");
    CHECK(
        error_of(
            R"({"ociVersion":"1","process":{},"root":{"path":"r"},"linux":{"namespaces":[{"type":"bogus"}]}})") ==
        "config.json: linux.namespaces[0].type: unknown namespace type `bogus`");
    CHECK(
        error_of(
            R"({"ociVersion":"1","process":{},"root":{"path":"r"},"hooks":{"prestart":[{"path":"rel"}]}})") ==
        "config.json: hooks.prestart[0].path: must be an absolute path");
    CHECK(
        error_of(
            R"({"ociVersion":"1","process":{"capabilities":{"bounding":["CAP_NOPE"]}},"root":{"path":"r"}})") ==
        "config.json: process.capabilities.bounding[0]: unknown capability `CAP_NOPE`");
    CHECK(
        error_of(R"({"ociVersion":"1","process":{},"root":{"path":"r"},"annotations":{"k":1}})") ==
        "config.json: annotations.k: expected a string");
}

TEST_CASE("spec: linux section, hooks, capabilities, resources", "[spec]")
{
    Spec s = parse_spec(R"({"ociVersion":"1.0.2",
        "process":{"terminal":true,"user":{"uid":1000,"gid":100,"additionalGids":[44]},
                   "capabilities":{"bounding":["CAP_KILL","CAP_NET_ADMIN"],"ambient":["CAP_KILL"]}},
        "root":{"path":"/abs/rootfs","readonly":true},
        "hooks":{"poststop":[{"path":"/bin/true","args":["true","x"],"timeout":5}]},
        "linux":{"namespaces":[{"type":"network","path":"/run/netns/x"},{"type":"pid"}],
                 "cgroupsPath":"/a/b","seccomp":{"defaultAction":"SCMP_ACT_ALLOW"},
                 "resources":{"memory":{"limit":536870912},"pids":{"limit":10}}}})",
                        "/b");
    CHECK(s.terminal);
    CHECK(s.uid == 1000);
    CHECK(s.additional_gids == std::vector<uint32_t>{44});
    REQUIRE(s.capabilities);
    CHECK(s.capabilities->bounding == std::vector<int>{5, 12});
    CHECK(s.capabilities->ambient == std::vector<int>{5});
    CHECK(s.root_path == "/abs/rootfs");
    REQUIRE(s.hooks.poststop.size() == 1);
    CHECK(s.hooks.poststop[0].timeout == 5);
    CHECK_FALSE(s.hooks.poststop[0].has_env);
    REQUIRE(s.find_namespace("network"));
    CHECK(s.find_namespace("network")->path == "/run/netns/x");
    CHECK(s.find_namespace("mount") == nullptr);
    CHECK(s.has_seccomp);
    CHECK(s.resources.memory_limit == 536870912);
    CHECK(s.resources.pids_limit == 10);
}

TEST_CASE("signals: numbers and names, with or without SIG, any case", "[spec]")
{
    CHECK(parse_signal("") == SIGTERM);
    CHECK(parse_signal("9") == SIGKILL);
    CHECK(parse_signal("KILL") == SIGKILL);
    CHECK(parse_signal("sigterm") == SIGTERM);
    CHECK(parse_signal("SIGUSR1") == SIGUSR1);
    CHECK_THROWS_WITH(parse_signal("NOPE"), "unknown signal `NOPE`");
    CHECK_THROWS_WITH(parse_signal("0"), "unknown signal `0`");
}

TEST_CASE("state: container ids use runc's character set", "[spec]")
{
    CHECK(valid_id("abc-1_2.3+x"));
    CHECK_FALSE(valid_id(""));
    CHECK_FALSE(valid_id("."));
    CHECK_FALSE(valid_id(".."));
    CHECK_FALSE(valid_id("a/b"));
    CHECK_FALSE(valid_id("a b"));
}

TEST_CASE("state: runc's state layout, pid 0 when stopped", "[spec]")
{
    State st;
    st.id = "c1";
    st.pid = 42;
    st.bundle = "/b";
    st.rootfs = "/b/rootfs";
    st.oci_version = "1.0.2";
    st.created = "2026-11-24T10:03:54.000000001Z";
    CHECK(
        oci_state_json(st, Status::running, false) ==
        R"({"ociVersion":"1.0.2","id":"c1","pid":42,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2026-11-24T10:03:54.000000001Z","owner":""})");
    CHECK(oci_state_json(st, Status::stopped, false).find(R"("pid":0,"status":"stopped")") !=
          std::string::npos);
    st.annotations["k"] = "v";
    CHECK(oci_state_json(st, Status::created, true)
              .find("\n  \"annotations\": {\n    \"k\": \"v\"\n  },") != std::string::npos);
}

// Found by fuzzing: RapidJSON's default parser recurses once per nesting level, so a
// config.json of a few hundred KB of `[` overflowed the stack (SIGSEGV, no message).
TEST_CASE("spec: deep nesting is an error, not a stack overflow", "[spec][fuzz]")
{
    constexpr size_t kDepth = 1'000'000;
    std::string deep = std::string(kDepth, '[') + std::string(kDepth, ']');
    CHECK(error_of(deep) == "config.json: (root): expected an object");
    std::string in_annotation =
        R"({"ociVersion":"1","process":{},"root":{"path":"r"},"annotations":{"k":)" + deep + "}}";
    CHECK(error_of(in_annotation) ==
          "config.json: annotations.k[0][0]...: nested deeper than 64 levels");
    CHECK_THROWS_WITH(parse_spec(std::string(kDepth, '{'), "/b"),
                      Catch::StartsWith("config.json: invalid JSON at offset 1:"));
}

TEST_CASE("state: state.json text round trip, deep nesting refused", "[spec][fuzz]")
{
    State s;
    s.id = "c1";
    s.bundle = "/b";
    s.pid = 42;
    s.pid_start = 1234567;
    s.creating = false;
    // JSON strings may hold NUL (\u0000): nothing after it may be lost.
    s.annotations = {{"k", std::string("v\0w", 3)}, {std::string("k\0x", 3), "v"}};
    s.host_config = "{}";
    s.systemd_cgroup = true;
    CHECK(parse_state(state_to_json(s), "x") == s);
    CHECK(oci_state_json(s, Status::running, false).find(R"("k\u0000x":"v")") != std::string::npos);
    CHECK_THROWS_WITH(parse_state("{}", "/run/urunc/c1/state.json"),
                      "`/run/urunc/c1/state.json` is not a urunc state file");
    CHECK_THROWS_WITH(parse_state(std::string(1'000'000, '['), "x"),
                      "`x` is not a urunc state file");
}
