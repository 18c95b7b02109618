// Is a network namespace the host's? The guest network (a tap plus a tc redirect of every
// frame arriving on the container interface) is only ever set up in a namespace of the
// container's own: done in the host's namespace it would steal the host's ingress traffic
// into the guest. A spec may name any namespace file by path, and the path proves nothing
// (`/proc/1/ns/net`, `/proc/<pid>/ns/net`, a bind mount of either), so the namespaces are
// compared by identity: st_dev and st_ino of the nsfs inode.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace urunc::net {

struct NetnsId {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const NetnsId &) const = default;
};

// The identity of the namespace file at `path`. Throws Error naming the path.
NetnsId netns_id(const std::string &path);

// urunc's own network namespace and PID 1's (the host's), as seen now.
std::vector<NetnsId> host_netns_ids();

// True when `id` is one of `host`.
bool is_host_netns(const NetnsId &id, const std::vector<NetnsId> &host);

}  // namespace urunc::net
