#include "net/tap.hpp"

#include "base/error.hpp"
#include "base/fd.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include <cstring>

#include <fmt/format.h>

namespace urunc::net {

namespace {

UniqueFd open_tun()
{
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd)
        throw sys_error("open `/dev/net/tun`");
    return fd;
}

ifreq tap_request(const std::string &name, int flags)
{
    if (name.empty() || name.size() >= IFNAMSIZ)
        throw Error(fmt::format("tap name `{}`: must be 1..{} bytes", name, IFNAMSIZ - 1), EINVAL);
    ifreq req{};
    std::memcpy(req.ifr_name, name.data(), name.size());
    req.ifr_flags = static_cast<short>(flags);  // IFF_TUN_EXCL is 0x8000: the sign bit
    return req;
}

}  // namespace

void create_persistent_tap(const std::string &name, uid_t uid, gid_t gid)
{
    UniqueFd fd = open_tun();
    // IFF_TUN_EXCL: an existing device of that name is an error, not something to join.
    // IFF_VNET_HDR: QEMU/Firecracker/Solo5 use virtio-net headers for offloads.
    ifreq req = tap_request(name, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL);
    if (::ioctl(fd.get(), TUNSETIFF, &req) < 0)
        throw sys_error(fmt::format("create tap `{}`", name));

    // From here on the device exists only while our fd lives, until TUNSETPERSIST: a failure
    // below leaves nothing behind when fd closes.
    if (::ioctl(fd.get(), TUNSETOWNER, static_cast<unsigned long>(uid)) < 0)
        throw sys_error(fmt::format("set owner {} of tap `{}`", uid, name));
    if (::ioctl(fd.get(), TUNSETGROUP, static_cast<unsigned long>(gid)) < 0)
        throw sys_error(fmt::format("set group {} of tap `{}`", gid, name));
    if (::ioctl(fd.get(), TUNSETPERSIST, 1UL) < 0)
        throw sys_error(fmt::format("make tap `{}` persistent", name));
}

}  // namespace urunc::net
