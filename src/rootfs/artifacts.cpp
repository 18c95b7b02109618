#include "rootfs/artifacts.hpp"

#include "base/error.hpp"
#include "rootfs/mountinfo.hpp"
#include "rootfs/safe_open.hpp"

#include <fcntl.h>
#include <sys/stat.h>

namespace urunc::rootfs {

std::string Artifact::proc_path() const { return "/proc/self/fd/" + std::to_string(fd.get()); }

std::vector<const Artifact *> BootArtifacts::all() const
{
    std::vector<const Artifact *> out{&kernel};
    if (initrd)
        out.push_back(&*initrd);
    if (config)
        out.push_back(&*config);
    return out;
}

std::uint64_t BootArtifacts::total_size() const
{
    std::uint64_t sum = 0;
    for (const auto *a : all())
        sum += a->size;
    return sum;
}

namespace {

// nullopt only when `optional` and the file is absent.
std::optional<Artifact> open_one(int root_dirfd, const std::string &role, const std::string &path,
                                 bool optional)
{
    if (path.empty())
        throw Error(role + ": the path is empty", EINVAL);
    Artifact a;
    a.path = path;
    a.relpath = normalize_path(path).substr(1);
    try {
        // O_PATH: opening never has side effects (a fifo planted in the image would block
        // a read open); the copy reopens it for reading through /proc/self/fd.
        a.fd = open_in_root(root_dirfd, path, O_PATH);
        a.size = regular_file_size(a.fd.get(), path);
        // A sparse file costs the image nothing and claims terabytes: the VMM would try to
        // load it into guest RAM, a copy would try to fill the disk with it.
        if (a.size > kMaxBootArtifact)
            throw Error("`" + path + "` is " + std::to_string(a.size) + " bytes, more than the " +
                            std::to_string(kMaxBootArtifact) + " a boot artifact may be",
                        EFBIG);
        struct stat st;
        if (::fstat(a.fd.get(), &st) < 0)
            throw sys_error("stat `" + path + "`");
        a.mode = st.st_mode & 07777;
    } catch (const Error &e) {
        if (optional && e.code() == ENOENT)
            return std::nullopt;
        throw wrap(role, e);
    }
    if (a.relpath.empty())
        throw Error(role + ": `" + path + "` names the root itself", EISDIR);
    return a;
}

}  // namespace

BootArtifacts open_artifacts(int root_dirfd, const ArtifactPaths &paths)
{
    BootArtifacts out{std::move(*open_one(root_dirfd, "kernel", paths.kernel, false)), {}, {}};
    if (!paths.initrd.empty())
        out.initrd = open_one(root_dirfd, "initrd", paths.initrd, false);
    if (!paths.config.empty())
        out.config = open_one(root_dirfd, "urunc.json", paths.config, true);
    return out;
}

}  // namespace urunc::rootfs
