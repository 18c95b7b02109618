#include "net/host_netns.hpp"

#include "base/error.hpp"

#include <sys/stat.h>

#include <algorithm>

namespace urunc::net {

NetnsId netns_id(const std::string &path)
{
    struct stat st;
    if (::stat(path.c_str(), &st) < 0)
        throw sys_error("stat network namespace `" + path + "`");
    return {st.st_dev, st.st_ino};
}

std::vector<NetnsId> host_netns_ids()
{
    std::vector<NetnsId> ids{netns_id("/proc/self/ns/net")};
    // PID 1 is the host's init when urunc runs on the host; when urunc itself runs in a
    // container, PID 1's namespace is that container's, which is just as much not ours to
    // redirect. Where PID 1's namespace cannot be looked at (EACCES: PID 1 is more
    // privileged than we are), it cannot be opened to be joined either.
    struct stat st;
    if (::stat("/proc/1/ns/net", &st) == 0) {
        NetnsId init{st.st_dev, st.st_ino};
        if (init != ids.front())
            ids.push_back(init);
    } else if (errno != EACCES && errno != EPERM) {
        throw sys_error("stat network namespace `/proc/1/ns/net`");
    }
    return ids;
}

bool is_host_netns(const NetnsId &id, const std::vector<NetnsId> &host)
{
    return std::find(host.begin(), host.end(), id) != host.end();
}

}  // namespace urunc::net
