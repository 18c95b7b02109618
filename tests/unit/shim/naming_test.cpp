#include "shim/naming.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

using namespace urunc::shim;

TEST_CASE("shim: containerd's address, in order of precedence", "[shim]")
{
    std::string src;
    std::vector<std::string> parent = {
        "containerd-shim-runc-v2", "-namespace", "default", "-address",
        "/run/x/containerd.sock",  "-id",        "c1"};
    CHECK(find_containerd_address("/cfg.sock", "/grpc.sock", parent, "/t.sock.ttrpc", &src) ==
          "/cfg.sock");
    CHECK(src == "host config view_shim.containerd_address");
    CHECK(find_containerd_address("", "/grpc.sock", parent, "/t.sock.ttrpc", &src) == "/grpc.sock");
    CHECK(src == "GRPC_ADDRESS");
    CHECK(find_containerd_address("", "", parent, "/t.sock.ttrpc", &src) ==
          "/run/x/containerd.sock");
    CHECK(src == "the parent shim's -address");
    CHECK(find_containerd_address("", nullptr, {"shim", "-address=/y.sock"}, nullptr) == "/y.sock");
    CHECK(find_containerd_address("", nullptr, {"bash"}, "/t.sock.ttrpc", &src) == "/t.sock");
    CHECK(src == "TTRPC_ADDRESS without .ttrpc");
    // a configured ttrpc address without the suffix says nothing about the gRPC one
    CHECK(find_containerd_address("", nullptr, {"bash"}, "/run/ttrpc.sock", &src) ==
          "/run/containerd/containerd.sock");
    CHECK(src == "the default socket");
    CHECK(find_containerd_address("", nullptr, {"shim", "-address"}, nullptr) ==
          "/run/containerd/containerd.sock");
}

TEST_CASE("shim: the namespace from NAMESPACE or --root", "[shim]")
{
    CHECK(find_namespace("k8s.io", "/run/containerd/runc/default") == "k8s.io");
    CHECK(find_namespace(nullptr, "/run/containerd/runc/default") == "default");
    CHECK(find_namespace("", "/run/containerd/runc/moby/") == "moby");
    CHECK(find_namespace(nullptr, "") == "");
    CHECK(find_namespace(nullptr, "/") == "");
}

TEST_CASE("shim: /proc cmdline splitting", "[shim]")
{
    using namespace std::string_literals;
    CHECK(split_cmdline("a\0-address\0/s\0"s) == std::vector<std::string>{"a", "-address", "/s"});
    CHECK(split_cmdline("").empty());
}

TEST_CASE("shim: one view per (containerd, namespace, snapshotter, parent)", "[shim]")
{
    auto a = view_names("/run/urunc/views", "/run/c.sock", "default", "overlayfs", "sha256:abc");
    CHECK(a.hash.size() == 32);
    CHECK(a.key == "urunc-view-" + a.hash);
    CHECK(a.lease == a.key);
    CHECK(a.label == "containerd.io/gc.ref.snapshot.overlayfs/urunc-view");
    CHECK(a.mountpoint == "/run/urunc/views/" + a.hash);
    CHECK(a.lock == "/run/urunc/views/" + a.hash + ".lock");
    // same inputs, same view; any input different, another view
    CHECK(view_names("/run/urunc/views", "/run/c.sock", "default", "overlayfs", "sha256:abc").key ==
          a.key);
    CHECK(view_names("/v", "/run/c2.sock", "default", "overlayfs", "sha256:abc").hash != a.hash);
    CHECK(view_names("/v", "/run/c.sock", "k8s.io", "overlayfs", "sha256:abc").hash != a.hash);
    CHECK(view_names("/v", "/run/c.sock", "default", "blk", "sha256:abc").hash != a.hash);
    CHECK(view_names("/v", "/run/c.sock", "default", "overlayfs", "sha256:abd").hash != a.hash);
    // parts are separated: ("ab", "c") is not ("a", "bc")
    CHECK(hash_parts({"ab", "c"}) != hash_parts({"a", "bc"}));
    CHECK(hash_parts({"abc"}) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(pin_filter(a) ==
          "labels.\"containerd.io/gc.ref.snapshot.overlayfs/urunc-view\"==\"" + a.key + "\"");
    CHECK(marker_path("/v", "/run/containerd/runc/default", "c1") !=
          marker_path("/v", "/run/containerd/runc/k8s.io", "c1"));
    CHECK(marker_path("/v", "/r", "c1").rfind("/v/containers/", 0) == 0);
}

namespace {

rapidjson::Document parse(const std::string &s)
{
    rapidjson::Document d;
    d.Parse(s.c_str());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

}  // namespace

TEST_CASE("shim: the snapshotView annotation is the shim's alone", "[shim]")
{
    const std::string key = "com.urunc.unikernel.snapshotView";
    // a user's (or image's) value is replaced, every other annotation kept
    auto d = parse(rewrite_view_annotation(
        R"({"ociVersion":"1.0.2","annotations":{"a":"1","com.urunc.unikernel.snapshotView":"/etc"}})",
        "/run/urunc/views/x"));
    CHECK(std::string(d["annotations"][key.c_str()].GetString()) == "/run/urunc/views/x");
    CHECK(std::string(d["annotations"]["a"].GetString()) == "1");
    CHECK(std::string(d["ociVersion"].GetString()) == "1.0.2");
    // no view: a supplied value is removed, nothing else changes
    d = parse(rewrite_view_annotation(
        R"({"annotations":{"com.urunc.unikernel.snapshotView":"/etc","b":"2"}})", std::nullopt));
    CHECK_FALSE(d["annotations"].HasMember(key.c_str()));
    CHECK(d["annotations"].HasMember("b"));
    // duplicated keys: all of them go
    d = parse(rewrite_view_annotation(
        R"({"annotations":{"com.urunc.unikernel.snapshotView":"/etc","com.urunc.unikernel.snapshotView":"/usr"}})",
        "/v/1"));
    CHECK(d["annotations"].MemberCount() == 1);
    CHECK(std::string(d["annotations"][key.c_str()].GetString()) == "/v/1");
    // no annotations object: created for a view, untouched text otherwise
    d = parse(rewrite_view_annotation(R"({"root":{"path":"rootfs"}})", "/v/2"));
    CHECK(std::string(d["annotations"][key.c_str()].GetString()) == "/v/2");
    CHECK(rewrite_view_annotation(R"({"root": {}})", std::nullopt) == R"({"root": {}})");
    d = parse(rewrite_view_annotation(R"({"annotations":null})", "/v/3"));
    CHECK(std::string(d["annotations"][key.c_str()].GetString()) == "/v/3");
    CHECK_THROWS(rewrite_view_annotation("{", "/v"));
    CHECK_THROWS(rewrite_view_annotation(R"({"annotations":[]})", "/v"));
}

// Found by review with the shim_config fuzz target: the rewrite parsed with RapidJSON's
// recursive parser and wrote back with the recursive Accept, so a bundle's config.json of
// deep nesting overflowed the shim's stack (SIGSEGV) before urunc could refuse it.
TEST_CASE("rewrite_view_annotation: deep nesting is an error, not a stack overflow", "[shim][fuzz]")
{
    constexpr size_t kDepth = 1'000'000;
    std::string deep = std::string(kDepth, '[') + std::string(kDepth, ']');
    CHECK_THROWS_WITH(rewrite_view_annotation(R"({"annotations":{},"x":)" + deep + "}", "/v"),
                      "config.json: x[0][0][0]...: nested deeper than 64 levels");
    CHECK_THROWS_WITH(rewrite_view_annotation(deep, "/v"),
                      "config.json: the document must be an object");
    CHECK_THROWS_WITH(rewrite_view_annotation(std::string(kDepth, '{'), "/v"),
                      Catch::StartsWith("config.json: "));
    // What urunc accepts (64 levels below the object) is still rewritten.
    std::string ok = R"({"x":)" + std::string(63, '[') + std::string(63, ']') + "}";
    CHECK(rewrite_view_annotation(ok, "/v").find("snapshotView") != std::string::npos);
    // Invalid UTF-8, which urunc refuses too.
    CHECK_THROWS(rewrite_view_annotation("{\"a\":\"\xff\"}", "/v"));
}
