#include "rootfs/block.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdlib>
#include <memory>

namespace urunc::rootfs {

const char *to_string(BlockKind k)
{
    switch (k) {
    case BlockKind::loop: return "loop";
    case BlockKind::device_mapper: return "device-mapper";
    case BlockKind::other: break;
    }
    return "block";
}

namespace {

std::string devno(unsigned major, unsigned minor)
{
    return std::to_string(major) + ":" + std::to_string(minor);
}

// A one-line sysfs attribute, or "" when absent.
std::string sysfs_value(const std::string &file)
{
    if (!path_exists(file))
        return "";
    return std::string(trim(read_file(file)));
}

std::string canonical(const std::string &path)
{
    std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
    if (!real)
        throw sys_error("resolve `" + path + "`");
    return real.get();
}

}  // namespace

void describe_from_sysfs(BlockDevice &dev, const std::string &sysfs)
{
    std::string base = sysfs + "/dev/block/" + devno(dev.major, dev.minor);
    // Decided by sysfs, not by major number: loop partitions and many loops use the
    // extended major (259), and the dm major is dynamic.
    if (path_exists(base + "/loop")) {
        dev.kind = BlockKind::loop;
        dev.loop_backing_file = sysfs_value(base + "/loop/backing_file");
    } else if (path_exists(base + "/dm")) {
        dev.kind = BlockKind::device_mapper;
        dev.dm_name = sysfs_value(base + "/dm/name");
    } else {
        dev.kind = BlockKind::other;
    }
}

std::optional<BlockDevice> block_device_for(const std::string &path, const MountInfo &mi,
                                            std::string *why_not)
{
    auto no = [&](std::string why) -> std::optional<BlockDevice> {
        if (why_not)
            *why_not = std::move(why);
        return std::nullopt;
    };
    std::string real = canonical(path);
    const MountEntry *m = mi.find_mount(real);
    if (!m)
        return no("`" + real + "` is not a mountpoint");
    if (!starts_with(m->source, "/dev/"))
        return no("`" + real + "` is mounted from `" + m->source + "` (" + m->fstype +
                  "), not from a block device");
    struct stat src;
    if (::stat(m->source.c_str(), &src) < 0 || !S_ISBLK(src.st_mode))
        return no("`" + real + "` is mounted from `" + m->source + "` (" + m->fstype +
                  "), which is not a block device node here");
    if (::major(src.st_rdev) != m->major || ::minor(src.st_rdev) != m->minor)
        return no("`" + real + "` is mounted from `" + m->source + "` but its filesystem is on " +
                  devno(m->major, m->minor) + ", not on " +
                  devno(::major(src.st_rdev), ::minor(src.st_rdev)));
    if (m->root != "/")
        return no("`" + real + "` is a bind mount of `" + m->root + "` on `" + m->source + "`");
    for (const auto &other : mi.entries()) {
        if (&other != m && other.major == m->major && other.minor == m->minor && other.root != "/")
            return no("`" + m->source + "` is also bind-mounted at `" + other.mountpoint +
                      "` (from `" + other.root + "`)");
    }
    struct stat st;
    if (::stat(real.c_str(), &st) < 0)
        throw sys_error("stat `" + real + "`");
    if (st.st_dev != src.st_rdev)
        return no("`" + real + "` changed while it was being inspected");

    BlockDevice dev;
    dev.path = m->source;
    dev.major = m->major;
    dev.minor = m->minor;
    dev.fstype = m->fstype;
    describe_from_sysfs(dev);
    return dev;
}

}  // namespace urunc::rootfs
