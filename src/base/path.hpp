// Lexical path cleaning, one rule with named variants. Nothing here touches the filesystem:
// symlinks are not resolved, which is why callers that open paths use rootfs/safe_open.
#pragma once

#include <string>
#include <string_view>

namespace urunc {

// "//" and "." dropped, ".." removes the name before it, trailing "/" dropped. ".." above "/"
// stays at "/"; a relative path keeps its leading ".." ("../../a"); "" gives ".".
std::string clean_path(std::string_view p);

// As clean_path, but the result never climbs above where it starts: a relative "../a" gives
// "a" and "" stays "". For paths that must stay below a base (a cgroup path under a mount).
std::string clean_path_within(std::string_view p);

// The absolute form: clean_path("/" + p). "" and "/.." give "/". How mountinfo spells paths.
std::string normalize_path(std::string_view path);

}  // namespace urunc
