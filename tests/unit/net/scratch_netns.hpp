// Test helper: run a body in a forked child inside fresh network and mount namespaces, so
// every link, qdisc and bind mount it makes vanishes with the child, even on failure.
// The child reports "facts" (key -> value) through a pipe; assertions run in the parent
// (a Catch2 assertion inside the child would be lost, or run the rest of the suite twice).
#pragma once

#include <functional>
#include <map>
#include <string>

namespace urunc::net::test {

using Facts = std::map<std::string, std::string>;

// Facts gets "exception" if the body threw and "status" if the child did not exit 0.
// In the child, /sys is remounted so /sys/class/net shows the new namespace.
Facts in_scratch_netns(const std::function<void(Facts &)> &body);

// Run a shell command (iproute2 in tests only), return stdout+stderr; throws on non-zero exit.
std::string sh(const std::string &cmd);

// Whole file as text with the trailing newline removed; "<missing>" if unreadable.
std::string slurp(const std::string &path);

}  // namespace urunc::net::test
