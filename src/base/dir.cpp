#include "base/dir.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace urunc {

UniqueDir UniqueDir::open(const std::string &path) { return UniqueDir(::opendir(path.c_str())); }

UniqueDir UniqueDir::adopt(int fd)
{
    DIR *d = fd < 0 ? nullptr : ::fdopendir(fd);
    if (!d && fd >= 0) {
        int e = errno;
        ::close(fd);
        errno = e;
    }
    return UniqueDir(d);
}

UniqueDir &UniqueDir::operator=(UniqueDir &&o) noexcept
{
    if (this != &o) {
        if (d_)
            ::closedir(d_);
        d_ = std::exchange(o.d_, nullptr);
    }
    return *this;
}

UniqueDir::~UniqueDir()
{
    if (d_)
        ::closedir(d_);
}

const dirent *UniqueDir::next()
{
    while (const dirent *e = ::readdir(d_))
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
            return e;
    return nullptr;
}

}  // namespace urunc
