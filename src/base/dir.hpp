// RAII directory streams: the one way urunc lists a directory.
#pragma once

#include <dirent.h>

#include <string>
#include <utility>

namespace urunc {

class UniqueDir {
public:
    UniqueDir() = default;
    // opendir(3); empty with errno set on failure.
    static UniqueDir open(const std::string &path);
    // fdopendir(3), taking `fd` (closed on failure too); empty with errno set on failure.
    static UniqueDir adopt(int fd);

    UniqueDir(const UniqueDir &) = delete;
    UniqueDir &operator=(const UniqueDir &) = delete;
    UniqueDir(UniqueDir &&o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
    UniqueDir &operator=(UniqueDir &&o) noexcept;
    ~UniqueDir();

    explicit operator bool() const noexcept { return d_ != nullptr; }
    // The stream's own descriptor, for *at() calls on its entries.
    int fd() const noexcept { return ::dirfd(d_); }
    // The next entry other than "." and ".."; nullptr at the end (or on a read error).
    const dirent *next();

private:
    explicit UniqueDir(DIR *d) : d_(d) {}
    DIR *d_ = nullptr;
};

}  // namespace urunc
