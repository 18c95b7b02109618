// The guest's tap device: created through /dev/net/tun, persistent (it must outlive this
// process's fd: the VMM opens it again by name after our exec), owned by the VMM's user.
#pragma once

#include <sys/types.h>

#include <string>

namespace urunc::net {

// Create a persistent tap `name` (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR), owned by uid/gid so a
// non-root VMM may attach to it. Exclusive: fails with EBUSY if a tun/tap of that name
// already exists instead of silently attaching to it. Throws Error naming the device.
void create_persistent_tap(const std::string &name, uid_t uid, gid_t gid);

}  // namespace urunc::net
