#include "shim/view_store.hpp"

#include "base/dir.hpp"
#include "base/error.hpp"
#include "base/lock.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "rootfs/mountinfo.hpp"
#include "shim/containerd_client.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <libmount.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <memory>

namespace urunc::shim {

void step(const char *name)
{
#ifdef URUNC_VIEW_SHIM_TEST_HOOKS
    const char *file = std::getenv("URUNC_VIEW_SHIM_KILL_AT");
    if (!file || !*file)
        return;
    std::string want;
    try {
        want = std::string(trim(read_file(file)));
    } catch (const Error &) {
        return;
    }
    // One shot: the cleanup that follows must not be killed as well.
    if (want == name && ::unlink(file) == 0)
        ::raise(SIGKILL);
#else
    (void)name;
#endif
}

namespace {

constexpr int kCommitted = 3;
constexpr int kView = 1;
// A lease outlives a shim killed between View and pin by at most this long; then
// containerd's GC takes the view if nothing pins it.
constexpr std::chrono::seconds kLeaseTtl{600};

// An exclusive flock on <views_dir>/<hash>.lock. The file is removed by the last user
// while it holds the lock; whoever then wakes up on the removed inode tries again.
class ViewLock {
public:
    explicit ViewLock(const std::string &path) : path_(path)
    {
        for (int tries = 0;; ++tries) {
            UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
            if (!fd)
                throw sys_error("open lock `" + path + "`");
            lock_fd(fd.get(), LockMode::exclusive, path);
            struct stat a, b;
            if (::fstat(fd.get(), &a) == 0 && ::stat(path.c_str(), &b) == 0 &&
                a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
                fd_ = std::move(fd);
                return;
            }
            if (tries > 100)
                throw Error("lock `" + path + "`: removed under us too often");
        }
    }
    // Only while holding the lock, and only when the view is gone.
    void remove_file() { ::unlink(path_.c_str()); }

private:
    std::string path_;
    UniqueFd fd_;
};

void put(rapidjson::Writer<rapidjson::StringBuffer> &w, const char *k, const std::string &v)
{
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

std::string get(const rapidjson::Value &o, const char *k, const std::string &path)
{
    auto it = o.FindMember(k);
    if (it == o.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() == 0)
        throw Error("view marker `" + path + "`: `" + k + "` is missing or not a string");
    return {it->value.GetString(), it->value.GetStringLength()};
}

// mount(8)'s work for one containerd mount (bind, overlay, or a filesystem on a file with
// the `loop` option), done by libmount, always read-only.
void mount_readonly(const MountSpec &m, const std::string &target)
{
    std::vector<std::string> opts;
    for (const auto &o : m.options)
        if (o != "rw" && o != "ro")
            opts.push_back(o);
    opts.push_back("ro");
    std::unique_ptr<libmnt_context, decltype(&mnt_free_context)> cxt(mnt_new_context(),
                                                                     mnt_free_context);
    if (!cxt)
        throw Error("mount view: libmount: out of memory", ENOMEM);
    mnt_context_disable_helpers(cxt.get(), 1);  // no /sbin/mount.<type> from the host
    mnt_context_disable_mtab(cxt.get(), 1);     // no utab bookkeeping; the shim unmounts itself
    mnt_context_set_source(cxt.get(), m.source.c_str());
    mnt_context_set_target(cxt.get(), target.c_str());
    if (m.type != "bind")
        mnt_context_set_fstype(cxt.get(), m.type.c_str());
    std::string joined = join(opts, ",");
    mnt_context_set_options(cxt.get(), joined.c_str());
    int rc = mnt_context_mount(cxt.get());
    if (rc != 0 || mnt_context_get_status(cxt.get()) != 1) {
        char buf[BUFSIZ] = {0};
        mnt_context_get_excode(cxt.get(), rc, buf, sizeof buf);
        throw Error("mount view (" + m.type + " `" + m.source + "`, options `" + joined +
                    "`) at `" + target +
                    "`: " + (buf[0] ? std::string(buf) : "libmount error " + std::to_string(rc)));
    }
}

bool mounted_at(const std::string &path) { return rootfs::MountInfo::load().is_mountpoint(path); }

// Unmount every mount stacked at path. Never lazily: a busy view is still in use.
void unmount_all(const std::string &path)
{
    for (int i = 0; i < 16 && mounted_at(path); ++i) {
        if (::umount2(path.c_str(), UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
            throw sys_error("unmount view `" + path + "`");
    }
}

// The committed snapshot a view is made of: `key` itself when committed, else its parent
// (the image's top layer for a container rootfs). containerd only prepares or views on a
// committed parent, so one Stat is enough.
std::string committed_ancestor(Containerd &cd, const std::string &snapshotter,
                               const std::string &key)
{
    SnapshotInfo st = cd.stat_snapshot(snapshotter, key);
    if (st.kind == kCommitted)
        return key;
    if (st.parent.empty())
        throw Error("snapshot `" + key + "` (" + snapshotter + ") has no committed parent");
    return st.parent;
}

// Is `key` the view this shim makes of `parent`? (A snapshot of that name made by someone
// else is never used nor removed.)
bool is_our_view(const SnapshotInfo &st, const std::string &parent)
{
    return st.kind == kView && st.parent == parent;
}

void write_marker(const Marker &m)
{
    mkdir_p(m.path.substr(0, m.path.rfind('/')), 0700);
    write_file_atomic(m.path, marker_to_json(m), 0600);
}

// Markers of containers that containerd no longer knows, for the same view: left by a
// shim killed during a create that was never deleted through the shim. Only called when no
// container pins the view, under its lock.
void sweep_markers(Containerd &cd, const Marker &self)
{
    std::string dir = self.path.substr(0, self.path.rfind('/'));
    UniqueDir d = UniqueDir::open(dir);
    if (!d)
        return;
    while (const dirent *e = d.next()) {
        std::string p = dir + "/" + e->d_name;
        if (e->d_name[0] == '.' || p == self.path)
            continue;
        try {
            auto m = read_marker(p);
            if (!m || m->view.key != self.view.key || m->address != self.address ||
                m->ns != self.ns)
                continue;
            cd.get_container(m->id);
        } catch (const ContainerdError &ce) {
            if (ce.not_found())
                ::unlink(p.c_str());
        } catch (const Error &) {
        }
    }
}

}  // namespace

std::string marker_to_json(const Marker &m)
{
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    put(w, "address", m.address);
    put(w, "namespace", m.ns);
    put(w, "id", m.id);
    put(w, "snapshotter", m.snapshotter);
    put(w, "parent", m.parent);
    put(w, "hash", m.view.hash);
    put(w, "view_key", m.view.key);
    put(w, "lease", m.view.lease);
    put(w, "label", m.view.label);
    put(w, "mountpoint", m.view.mountpoint);
    put(w, "lock", m.view.lock);
    w.EndObject();
    return buf.GetString();
}

Marker marker_from_json(const std::string &json, const std::string &path)
{
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());
    if (doc.HasParseError() || !doc.IsObject())
        throw Error("view marker `" + path + "`: not a JSON object");
    Marker m;
    m.path = path;
    m.address = get(doc, "address", path);
    m.ns = get(doc, "namespace", path);
    m.id = get(doc, "id", path);
    m.snapshotter = get(doc, "snapshotter", path);
    m.parent = get(doc, "parent", path);
    m.view.hash = get(doc, "hash", path);
    m.view.key = get(doc, "view_key", path);
    m.view.lease = get(doc, "lease", path);
    m.view.label = get(doc, "label", path);
    m.view.mountpoint = get(doc, "mountpoint", path);
    m.view.lock = get(doc, "lock", path);
    return m;
}

std::optional<Marker> read_marker(const std::string &path)
{
    std::string text;
    try {
        text = read_file(path);
    } catch (const Error &e) {
        if (e.code() == ENOENT)
            return std::nullopt;
        throw;
    }
    return marker_from_json(text, path);
}

namespace {

// The marker of this container's view, written before anything changes in containerd:
// from then on, a crash is put right by the release of this container.
Marker write_new_marker(const PrepareInput &in, const ContainerInfo &c, const std::string &parent)
{
    Marker m;
    m.path = marker_path(in.views_dir, in.root, in.id);
    m.address = in.address;
    m.ns = in.ns;
    m.id = in.id;
    m.snapshotter = c.snapshotter;
    m.parent = parent;
    m.view = view_names(in.views_dir, in.address, in.ns, c.snapshotter, parent);
    mkdir_p(in.views_dir, 0755);
    write_marker(m);
    return m;
}

// The common case, every container of an image after its first: the view is mounted (so
// a container pins it, or a crash left it). Pin it first, then check that the snapshot is
// still there: once pinned, containerd's GC cannot take it. Two calls, no lease, no mount.
// False when the full path must run.
bool pin_mounted_view(Containerd &cd, const PrepareInput &in, const ContainerInfo &c,
                      const std::string &parent, const ViewNames &v)
{
    if (!mounted_at(v.mountpoint))
        return false;
    cd.set_container_label(in.id, v.label, v.key);
    step("create:pin");
    try {
        if (is_our_view(cd.stat_snapshot(c.snapshotter, v.key), parent))
            return true;
    } catch (const ContainerdError &e) {
        if (!e.not_found())
            throw;
    }
    // A mount whose snapshot is gone (GC took it after a crash), or a name taken by
    // someone else: the full path puts it right, or refuses.
    return false;
}

void take_lease(Containerd &cd, const ViewNames &v)
{
    try {
        cd.create_lease(v.lease, kLeaseTtl);
    } catch (const ContainerdError &e) {
        if (!e.already_exists())  // a killed shim's lease: reused, deleted below
            throw;
    }
    step("create:lease");
}

// The view snapshot's one mount: the existing view's (when it is ours), or a new view's
// (`fresh`).
MountSpec view_mount(Containerd &cd, const ContainerInfo &c, const std::string &parent,
                     const ViewNames &v, bool &fresh)
{
    std::vector<MountSpec> mounts;
    fresh = false;
    try {
        SnapshotInfo st = cd.stat_snapshot(c.snapshotter, v.key);
        if (!is_our_view(st, parent))
            throw Error("snapshot `" + v.key + "` (" + c.snapshotter +
                        ") exists but is not a view of `" + parent + "`");
        cd.add_lease_snapshot(v.lease, c.snapshotter, v.key);
        mounts = cd.mounts(c.snapshotter, v.key);
    } catch (const ContainerdError &e) {
        if (!e.not_found())
            throw;
        mounts = cd.view(c.snapshotter, v.key, parent, v.lease);
        fresh = true;
    }
    step("create:view");
    if (mounts.size() != 1)
        throw Error("view `" + v.key + "` (" + c.snapshotter +
                    "): " + std::to_string(mounts.size()) + " mounts, one expected");
    return mounts[0];
}

// The view mounted read-only at its mountpoint. A mount without its snapshot is a
// leftover (GC took the view after a crash): redone.
void mount_view(const MountSpec &mount, bool fresh, const ViewNames &v)
{
    if (fresh)
        unmount_all(v.mountpoint);
    if (!mounted_at(v.mountpoint)) {
        mkdir_p(v.mountpoint, 0755);
        mount_readonly(mount, v.mountpoint);
        if (!rootfs::MountInfo::load().find_mount(v.mountpoint)->read_only()) {
            unmount_all(v.mountpoint);
            throw Error("mount view at `" + v.mountpoint + "`: it did not come up read-only");
        }
    }
    step("create:mount");
}

// The container's label pins the view; the lease is no longer needed.
void pin_and_unlease(Containerd &cd, const PrepareInput &in, const ViewNames &v)
{
    cd.set_container_label(in.id, v.label, v.key);
    step("create:pin");
    try {
        cd.delete_lease(v.lease);
    } catch (const ContainerdError &e) {
        if (!e.not_found())
            throw;
    }
    step("create:unlease");
}

}  // namespace

std::optional<std::string> prepare_view(const PrepareInput &in, std::optional<Marker> &marker_out)
{
    Containerd cd(in.address, in.ns);
    ContainerInfo c = cd.get_container(in.id);
    if (c.snapshotter.empty() || c.snapshot_key.empty())
        return std::nullopt;
    std::string parent = committed_ancestor(cd, c.snapshotter, c.snapshot_key);
    Marker m = write_new_marker(in, c, parent);
    marker_out = m;
    step("create:marker");
    const ViewNames &v = m.view;

    ViewLock lock(v.lock);
    if (pin_mounted_view(cd, in, c, parent, v))
        return v.mountpoint;
    take_lease(cd, v);
    bool fresh = false;
    MountSpec mount = view_mount(cd, c, parent, v, fresh);
    mount_view(mount, fresh, v);
    pin_and_unlease(cd, in, v);
    return v.mountpoint;
}

void release_view(const Marker &m)
{
    Containerd cd(m.address, m.ns);
    try {
        cd.set_container_label(m.id, m.view.label, "");
    } catch (const ContainerdError &e) {
        if (!e.not_found())  // the container is gone, and its label with it
            throw;
    }
    step("delete:unpin");
    {
        ViewLock lock(m.view.lock);
        std::vector<std::string> users = cd.list_containers(pin_filter(m.view));
        if (users.empty()) {
            // Creates hold the lease only under this lock: whatever lease is here is a
            // leftover of a killed create.
            try {
                cd.delete_lease(m.view.lease);
            } catch (const ContainerdError &e) {
                if (!e.not_found())
                    throw;
            }
            unmount_all(m.view.mountpoint);
            step("delete:unmount");
            if (::rmdir(m.view.mountpoint.c_str()) < 0 && errno != ENOENT)
                throw sys_error("remove `" + m.view.mountpoint + "`");
            try {
                // Only the shim's own view goes: a snapshot that merely has its name (made by
                // someone else, which is why View was refused) stays.
                if (is_our_view(cd.stat_snapshot(m.snapshotter, m.view.key), m.parent))
                    cd.remove_snapshot(m.snapshotter, m.view.key);
            } catch (const ContainerdError &e) {
                if (!e.not_found())
                    throw;
            }
            step("delete:remove");
            sweep_markers(cd, m);
            lock.remove_file();
        } else {
            log::debug("snapshot view `{}` is still used by {} container(s)", m.view.key,
                       users.size());
        }
    }
    if (::unlink(m.path.c_str()) < 0 && errno != ENOENT)
        throw sys_error("remove view marker `" + m.path + "`");
}

}  // namespace urunc::shim
