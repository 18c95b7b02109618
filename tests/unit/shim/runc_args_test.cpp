#include "shim/runc_args.hpp"

#include <catch2/catch.hpp>

using urunc::shim::parse_runc_args;

TEST_CASE("shim args: go-runc's create line", "[shim]")
{
    auto r = parse_runc_args({"/usr/bin/urunc-view-shim", "--root", "/run/containerd/runc/k8s.io",
                              "--log", "/b/log.json", "--log-format", "json", "create", "--bundle",
                              "/b", "--pid-file", "/b/init.pid", "--console-socket", "/tmp/s",
                              "--no-pivot", "c1"});
    REQUIRE(r);
    CHECK(r->root == "/run/containerd/runc/k8s.io");
    CHECK(r->log == "/b/log.json");
    CHECK(r->log_format == "json");
    CHECK(r->verb == "create");
    CHECK(r->bundle == "/b");
    CHECK(r->id == "c1");
}

TEST_CASE("shim args: Go flag spellings (-x, -x=v) and delete --force", "[shim]")
{
    auto r = parse_runc_args({"shim", "-root=/r/ns", "-log", "/l", "delete", "-f", "c2"});
    REQUIRE(r);
    CHECK(r->root == "/r/ns");
    CHECK(r->verb == "delete");
    CHECK(r->force);
    CHECK(r->id == "c2");
    auto d = parse_runc_args({"shim", "--root", "/r", "delete", "c3"});
    REQUIRE(d);
    CHECK_FALSE(d->force);
    CHECK(d->id == "c3");
    auto b = parse_runc_args({"shim", "create", "-b=/x", "c4"});
    REQUIRE(b);
    CHECK(b->bundle == "/x");
}

TEST_CASE("shim args: other verbs and odd lines", "[shim]")
{
    auto k = parse_runc_args({"shim", "--root", "/r", "kill", "--all", "c1", "9"});
    REQUIRE(k);
    CHECK(k->verb == "kill");
    auto v = parse_runc_args({"shim", "--version"});
    REQUIRE(v);
    CHECK(v->verb.empty());
    // Not understood: handed to urunc unchanged by the caller.
    CHECK_FALSE(parse_runc_args({"shim", "--root"}));
    CHECK_FALSE(parse_runc_args({"shim", "create", "--bundle"}));
    CHECK_FALSE(parse_runc_args({"shim", "create", "a", "b"}));
    CHECK_FALSE(parse_runc_args({"shim", "delete"}));
}
