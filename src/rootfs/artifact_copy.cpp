// The fallback copy: a block rootfs without a snapshot view is handed to the guest, so the
// boot artifacts must be taken out of it first (upstream urunc moves them into the bundle,
// which fills /run). The copy lives in a per-container
// directory that the caller chooses and `delete` always removes.
#include "rootfs/artifacts.hpp"

#include "base/dir.hpp"
#include "base/error.hpp"
#include "base/file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace urunc::rootfs {

CopiedArtifacts::CopiedArtifacts(CopiedArtifacts &&o) noexcept
    : kernel(std::move(o.kernel)), initrd(std::move(o.initrd)), config(std::move(o.config)),
      dir_(std::move(o.dir_)), released_(std::exchange(o.released_, true))
{
}

CopiedArtifacts::~CopiedArtifacts()
{
    if (!released_ && !dir_.empty())
        remove_tree(dir_);  // best effort on an error path; delete reports its own failures
}

namespace {

// A directory chain below `dirfd`, created as needed, never through a symlink.
UniqueFd make_dirs(int dirfd, const std::string &rel, const std::string &dest_dir)
{
    UniqueFd cur(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    std::string done = dest_dir;
    size_t pos = 0;
    while (pos < rel.size()) {
        size_t slash = rel.find('/', pos);
        if (slash == std::string::npos)
            break;
        std::string name = rel.substr(pos, slash - pos);
        done += "/" + name;
        if (::mkdirat(cur.get(), name.c_str(), 0755) < 0 && errno != EEXIST)
            throw sys_error("mkdir `" + done + "`");
        UniqueFd next(
            ::openat(cur.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next)
            throw sys_error("open `" + done + "`");
        cur = std::move(next);
        pos = slash + 1;
    }
    return cur;
}

void copy_data(int in, int out, std::uint64_t size, const std::string &from, const std::string &to)
{
    std::uint64_t left = size;
    bool use_sendfile = false;
    while (left > 0) {
        size_t chunk = left > (1u << 30) ? (1u << 30) : static_cast<size_t>(left);
        ssize_t n;
        if (!use_sendfile) {
            n = ::copy_file_range(in, nullptr, out, nullptr, chunk, 0);
            // Filesystems or kernels that cannot do it across these files: plain sendfile.
            if (n < 0 &&
                (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) &&
                left == size) {
                use_sendfile = true;
                continue;
            }
        } else {
            n = ::sendfile(out, in, nullptr, chunk);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw sys_error("copy `" + from + "` to `" + to + "`");
        }
        if (n == 0)
            throw Error("copy `" + from + "` to `" + to + "`: the source shrank while copying",
                        EIO);
        left -= static_cast<std::uint64_t>(n);
    }
}

void check_empty(int dirfd, const std::string &dir)
{
    UniqueDir d = UniqueDir::adopt(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d)
        throw sys_error("open `" + dir + "`");
    if (d.next())
        throw Error("artifact copy directory `" + dir + "` already exists and is not empty",
                    EEXIST);
}

}  // namespace

CopiedArtifacts copy_artifacts(const BootArtifacts &artifacts, const std::string &dest_dir)
{
    bool created = ::mkdir(dest_dir.c_str(), 0755) == 0;
    if (!created && errno != EEXIST)
        throw sys_error("mkdir `" + dest_dir + "`");
    UniqueFd dest(::open(dest_dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dest)
        throw sys_error("open `" + dest_dir + "`");
    if (!created)
        check_empty(dest.get(), dest_dir);
    // From here on the directory is ours: any failure removes it.
    CopiedArtifacts out(dest_dir);

    std::vector<std::uint64_t> sizes;
    for (const auto *a : artifacts.all())
        sizes.push_back(a->size);
    require_free_space(dest.get(), dest_dir, sizes);

    auto copy_one = [&](const Artifact &a) {
        std::string to = dest_dir + "/" + a.relpath;
        UniqueFd in(::open(a.proc_path().c_str(), O_RDONLY | O_CLOEXEC));
        if (!in)
            throw sys_error("reopen `" + a.path + "` for reading");
        UniqueFd parent = make_dirs(dest.get(), a.relpath, dest_dir);
        std::string name = a.relpath.substr(a.relpath.rfind('/') + 1);
        UniqueFd outfd(::openat(parent.get(), name.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!outfd)
            throw sys_error("create `" + to + "`");
        copy_data(in.get(), outfd.get(), a.size, a.path, to);
        // Readable by a non-root VMM; executable only if the original was.
        if (::fchmod(outfd.get(), (a.mode & 0755) | 0444) < 0)
            throw sys_error("chmod `" + to + "`");
        return to;
    };
    out.kernel = copy_one(artifacts.kernel);
    if (artifacts.initrd)
        out.initrd = copy_one(*artifacts.initrd);
    if (artifacts.config)
        out.config = copy_one(*artifacts.config);
    return out;
}

}  // namespace urunc::rootfs
