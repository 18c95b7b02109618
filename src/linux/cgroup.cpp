#include "linux/cgroup.hpp"

#include "base/cleanup_errors.hpp"
#include "base/dir.hpp"
#include "base/error.hpp"
#include "base/rollback.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/path.hpp"
#include "base/strings.hpp"
#include "linux/device_rules.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

namespace urunc::linux {
using oci::DeviceRule;
using oci::Resources;

namespace {

// One mounted hierarchy (a v1 controller set, a v1 named hierarchy, or cgroup2).
using Hierarchy = CgroupMount;

// One line of /proc/<pid>/cgroup: "id:ctrl,ctrl:/path".
struct ProcCgroup {
    std::set<std::string> controllers;  // empty for the v2 "0::" line
    std::string path;
};

// A path field of mountinfo: the kernel escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(std::string_view field)
{
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' &&
            field[i + 1] <= '3' && field[i + 2] >= '0' && field[i + 2] <= '7' &&
            field[i + 3] >= '0' && field[i + 3] <= '7') {
            out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                     (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

std::vector<Hierarchy> mounted_hierarchies()
{
    const std::string file = "/proc/self/mountinfo";
    return cgroup_mounts(read_file(file), file);
}

std::vector<ProcCgroup> read_proc_cgroup(const std::string &file)
{
    std::vector<ProcCgroup> out;
    for (const auto &line : split(read_file(file), '\n')) {
        auto c1 = line.find(':');
        auto c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
        if (c2 == std::string::npos)
            continue;
        ProcCgroup pc;
        for (auto &c : split(std::string_view(line).substr(c1 + 1, c2 - c1 - 1), ','))
            if (!c.empty())
                pc.controllers.insert(c);
        pc.path = line.substr(c2 + 1);
        out.push_back(std::move(pc));
    }
    return out;
}

bool has(const Hierarchy &h, const std::string &ctrl) { return h.controllers.count(ctrl) > 0; }

// Where `cgroups` (a /proc/<pid>/cgroup listing) puts the process in hierarchy h, as an
// absolute directory; nullopt if the listing has no line for h or the path is outside the
// part of the hierarchy mounted here.
std::optional<std::string> dir_in(const std::vector<ProcCgroup> &cgroups, const Hierarchy &h)
{
    for (const auto &pc : cgroups) {
        bool match = h.v2 ? pc.controllers.empty()
                          : std::any_of(pc.controllers.begin(), pc.controllers.end(),
                                        [&](const std::string &c) { return has(h, c); });
        if (!match)
            continue;
        if (h.root == "/")
            return join_path(h.mountpoint, pc.path);
        if (pc.path == h.root || starts_with(pc.path, h.root + "/"))
            return join_path(h.mountpoint, pc.path.substr(h.root.size()));
        return std::nullopt;
    }
    return std::nullopt;
}

std::string parent_of(const std::string &path)
{
    auto slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// systemd's slice naming: "a-b.slice" lives at "/a.slice/a-b.slice"; "-.slice" is the root.
std::string expand_slice(const std::string &slice)
{
    const std::string suffix = ".slice";
    if (slice.size() <= suffix.size() ||
        slice.compare(slice.size() - suffix.size(), suffix.size(), suffix) ||
        slice.find('/') != std::string::npos)
        throw Error("invalid slice name `" + slice + "`");
    std::string name = slice.substr(0, slice.size() - suffix.size());
    if (name == "-")
        return "/";
    std::string path, prefix;
    for (auto &component : split(name, '-')) {
        if (component.empty())  // "a--b.slice", "-a.slice", "a-.slice"
            throw Error("invalid slice name `" + slice + "`");
        path += "/" + prefix + component + suffix;
        prefix += component + "-";
    }
    return path;
}

std::string read_trimmed(const std::string &path) { return std::string(trim(read_file(path))); }

void write_cgroup_file(const std::string &dir, const char *file, const std::string &value)
{
    std::string path = dir + "/" + file;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd)
        throw sys_error("open `" + path + "`");
    if (::write(fd.get(), value.data(), value.size()) < 0)
        throw sys_error("write " + value + " to `" + path + "`");
}

// A v1 cpuset cgroup starts with empty cpus/mems and refuses tasks until they are set.
void copy_cpuset_from_parent(const std::string &dir)
{
    for (const char *f : {"cpuset.cpus", "cpuset.mems"}) {
        std::string own = dir + "/" + f;
        if (path_exists(own) && read_trimmed(own).empty())
            write_cgroup_file(dir, f, read_trimmed(parent_of(dir) + "/" + f));
    }
}

// cgroup2: a child gets a controller only if its parent lists it in cgroup.subtree_control.
// Best effort like runc: a parent with processes of its own refuses (EBUSY) and that is fine.
void enable_v2_controllers(const std::string &dir)
{
    std::string wanted;
    for (auto &c : split_ws(read_trimmed(dir + "/cgroup.controllers")))
        if (c == "cpu" || c == "memory" || c == "pids" || c == "cpuset")
            wanted += (wanted.empty() ? "+" : " +") + c;
    if (wanted.empty())
        return;
    try {
        write_cgroup_file(dir, "cgroup.subtree_control", wanted);
    } catch (const Error &e) {
        log::debug("cgroup: {}", e.what());
    }
}

std::vector<pid_t> read_procs(const std::string &dir)
{
    std::vector<pid_t> out;
    for (auto &s : split_ws(read_file(dir + "/cgroup.procs")))
        out.push_back(static_cast<pid_t>(std::stol(s)));
    return out;
}

// mkdir -p from the mount point down, recording what is new. The leaf may pre-exist only
// if it holds no process (runc refuses to share a cgroup).
void make_dir(const Hierarchy &h, const std::string &dir, std::vector<std::string> &created)
{
    std::string cur = h.mountpoint;
    std::string_view rest = std::string_view(dir).substr(h.mountpoint.size());
    auto parts = split(rest, '/');
    for (size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].empty())
            continue;
        if (h.v2)
            enable_v2_controllers(cur);
        cur = join_path(cur, parts[i]);
        if (::mkdir(cur.c_str(), 0755) == 0)
            created.push_back(cur);
        else if (errno != EEXIST)
            throw sys_error("mkdir `" + cur + "`");
        // Also for a level that already existed: a concurrent create may have made it an
        // instant ago and not yet filled it in, and a child copied from an empty parent
        // refuses every task (ENOSPC). Top-down, each level copies from a filled parent;
        // racing writers write the same value.
        if (has(h, "cpuset"))
            copy_cpuset_from_parent(cur);
    }
    if (created.empty() || created.back() != dir) {
        auto n = read_procs(dir).size();
        if (n)
            throw Error("cgroup `" + dir + "` is not empty: " + std::to_string(n) +
                        " process(es) found");
    }
}

// The directory of hierarchy h that `relative` names.
std::string target_dir(const Hierarchy &h, const std::string &relative,
                       const std::vector<ProcCgroup> &self)
{
    if (relative.front() == '/')
        return join_path(h.mountpoint, relative);
    auto own = dir_in(self, h);
    if (!own)
        throw Error("cannot find our own cgroup under `" + h.mountpoint + "` (/proc/self/cgroup)");
    // runc: on cgroup2 the parent of our own cgroup, which (no internal processes rule)
    // can have controllers enabled for children while ours, holding us, may not.
    std::string base = h.v2 && *own != h.mountpoint ? parent_of(*own) : *own;
    return join_path(base, relative);
}

struct Target {
    const Hierarchy *h;
    std::string dir;
};

void apply_device_rules(const std::vector<Target> &targets, const std::vector<DeviceRule> &rules);

// Writes every asked limit where its controller is; an asked limit that no hierarchy took
// is an error (runc: "cannot set <x> limit: container could not join or create cgroup").
void apply_resources(const std::vector<Target> &targets, const Resources &r)
{
    std::set<std::string> asked, applied;
    if (r.memory_limit || r.memory_swap)
        asked.insert("memory");
    if (r.cpu_shares || r.cpu_quota || r.cpu_period)
        asked.insert("cpu");
    if (r.pids_limit)
        asked.insert("pids");
    if (!r.cpuset_cpus.empty() || !r.cpuset_mems.empty())
        asked.insert("cpuset");
    auto num = [](auto v) { return std::to_string(v); };
    for (const auto &[h, dir] : targets) {
        std::set<std::string> ctrl = h->controllers;
        if (h->v2)
            for (auto &c : split_ws(read_trimmed(dir + "/cgroup.controllers")))
                ctrl.insert(c);
        auto on = [&](const char *c) {
            if (!asked.count(c) || !ctrl.count(c))
                return false;
            applied.insert(c);
            return true;
        };
        if (on("memory")) {
            if (r.memory_limit)
                write_cgroup_file(dir, h->v2 ? "memory.max" : "memory.limit_in_bytes",
                                  h->v2 && r.memory_limit < 0 ? "max" : num(r.memory_limit));
            if (r.memory_swap && !h->v2) {
                if (path_exists(dir + "/memory.memsw.limit_in_bytes"))
                    write_cgroup_file(dir, "memory.memsw.limit_in_bytes", num(r.memory_swap));
                else
                    log::warn("cgroup: no swap accounting on this host, memory swap limit ignored");
            } else if (r.memory_swap && path_exists(dir + "/memory.swap.max")) {
                // OCI gives memory+swap; cgroup2 wants the swap part alone.
                if (r.memory_swap > 0 && (r.memory_limit <= 0 || r.memory_swap < r.memory_limit))
                    throw Error("memory+swap limit " + num(r.memory_swap) +
                                " needs a memory limit no larger than it");
                write_cgroup_file(dir, "memory.swap.max",
                                  r.memory_swap < 0 ? "max" : num(r.memory_swap - r.memory_limit));
            }
        }
        if (on("cpu")) {
            if (!h->v2) {
                if (r.cpu_shares)
                    write_cgroup_file(dir, "cpu.shares", num(r.cpu_shares));
                if (r.cpu_period)
                    write_cgroup_file(dir, "cpu.cfs_period_us", num(r.cpu_period));
                if (r.cpu_quota)
                    write_cgroup_file(dir, "cpu.cfs_quota_us", num(r.cpu_quota));
            } else {
                if (r.cpu_shares) {  // runc's shares [2, 262144] -> weight [1, 10000]
                    uint64_t s = std::clamp<uint64_t>(r.cpu_shares, 2, 262144);
                    write_cgroup_file(dir, "cpu.weight", num(1 + ((s - 2) * 9999) / 262142));
                }
                if (r.cpu_quota || r.cpu_period) {
                    std::string period = num(r.cpu_period ? r.cpu_period : 100000);
                    write_cgroup_file(dir, "cpu.max",
                                      (r.cpu_quota > 0 ? num(r.cpu_quota) : "max") + " " + period);
                }
            }
        }
        if (on("pids"))
            write_cgroup_file(dir, "pids.max", r.pids_limit < 0 ? "max" : num(r.pids_limit));
        if (on("cpuset")) {
            if (!r.cpuset_cpus.empty())
                write_cgroup_file(dir, "cpuset.cpus", r.cpuset_cpus);
            if (!r.cpuset_mems.empty())
                write_cgroup_file(dir, "cpuset.mems", r.cpuset_mems);
        }
    }
    for (const auto &c : asked)
        if (!applied.count(c))
            throw Error("cannot set " + c + " limit: no " + c + " controller is available");
    apply_device_rules(targets, r.devices);
}

// The device rules: the v1 devices controller where there is one (a hybrid host too, as
// runc); otherwise an eBPF program on the cgroup2 directory, cgroup2's only device control.
void apply_device_rules(const std::vector<Target> &targets, const std::vector<DeviceRule> &rules)
{
    if (rules.empty())
        return;
    bool done = false;
    for (const auto &[h, dir] : targets) {
        if (h->v2 || !has(*h, "devices"))
            continue;
        for (const auto &w : v1_device_writes(rules))
            write_cgroup_file(dir, w.file, w.line);
        done = true;
    }
    if (done)
        return;
    auto prog = device_bpf_program(rules);
    for (const auto &[h, dir] : targets) {
        if (!h->v2)
            continue;
        attach_device_program(dir, prog);
        done = true;
    }
    if (!done)
        throw Error("cannot set the device rules: no devices controller and no cgroup2 hierarchy");
}

// rmdir of a cgroup whose last task was just killed: the kernel reports the task's exit
// (pidfd, wait) before it has unlinked the task from its cgroups, and rmdir says EBUSY
// meanwhile. Retry for a bounded time (about 1.3 s) instead of leaking the cgroup.
int rmdir_cgroup(const std::string &dir)
{
    int rc = ::rmdir(dir.c_str());
    for (int i = 0, ms = 10; rc < 0 && errno == EBUSY && i < 7; ++i, ms *= 2) {
        ::usleep(ms * 1000);
        rc = ::rmdir(dir.c_str());
    }
    return rc;
}

void rmdir_children(const std::string &dir, CleanupErrors &errors)
{
    UniqueDir d = UniqueDir::open(dir);
    if (!d)
        return;
    std::vector<std::string> subdirs;
    while (const dirent *e = d.next())
        if (e->d_type == DT_DIR)
            subdirs.push_back(dir + "/" + e->d_name);
    d = UniqueDir();
    for (auto &sub : subdirs) {
        rmdir_children(sub, errors);
        if (rmdir_cgroup(sub) < 0 && errno != ENOENT)
            errors.add(sys_error("rmdir `" + sub + "`").what());
    }
}

}  // namespace

std::string resolve_cgroup_path(const CgroupRequest &r)
{
    if (!r.systemd) {
        std::string p = clean_path_within(r.path.empty() ? r.id : r.path);
        if (p.empty() || p == "/")
            throw Error("cgroupsPath `" + r.path + "` names no cgroup of its own");
        return p;
    }
    std::string slice = "system.slice", prefix = "runc", name = r.id;
    if (!r.path.empty()) {
        auto parts = split(r.path, ':');
        if (parts.size() != 3)
            throw Error("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd "
                        "cgroups, got \"" +
                        r.path + "\" instead");
        if (!parts[0].empty())
            slice = parts[0];
        prefix = parts[1];
        name = parts[2];
    }
    if (name.empty() || name.find('/') != std::string::npos ||
        prefix.find('/') != std::string::npos || name == "." || name == "..")
        throw Error("invalid systemd cgroupsPath `" + r.path + "`: bad unit name");
    bool is_slice = name.size() > 6 && name.compare(name.size() - 6, 6, ".slice") == 0;
    return join_path(expand_slice(slice), is_slice ? name : prefix + "-" + name + ".scope");
}

std::vector<CgroupMount> mounted_cgroup_hierarchies() { return mounted_hierarchies(); }

Cgroup place_in_cgroup(pid_t pid, const CgroupRequest &r)
{
    return place_in_cgroup(pid, r, mounted_hierarchies());
}

Cgroup place_in_cgroup(pid_t pid, const CgroupRequest &r,
                       const std::vector<CgroupMount> &hierarchies)
{
    if (pid <= 0)
        throw Error("cgroup: invalid pid " + std::to_string(pid));
    Cgroup cg;
    cg.relative = resolve_cgroup_path(r);
    if (hierarchies.empty())
        throw Error("no cgroup hierarchy is mounted (/proc/self/mountinfo)");
    auto self = read_proc_cgroup("/proc/self/cgroup");
    auto before = read_proc_cgroup("/proc/" + std::to_string(pid) + "/cgroup");

    // A half-done placement is undone: the pid goes back where it was (first), the dirs made
    // on the way are removed (last made first).
    Rollback undo("cgroup rollback");
    undo.add([&cg] {
        for (auto it = cg.dirs.rbegin(); it != cg.dirs.rend(); ++it)
            if (::rmdir(it->c_str()) < 0 && errno != ENOENT) {
                // A parent made on the way may meanwhile hold a concurrent create's cgroup:
                // it stays, as any shared parent does.
                if (errno == EBUSY && read_procs(*it).empty())
                    log::debug("cgroup rollback: `{}` kept, in use by another cgroup", *it);
                else
                    log::warn("cgroup rollback: rmdir `{}`: {}", *it, std::strerror(errno));
            }
        return std::string();
    });
    std::vector<Target> targets;
    for (const auto &h : hierarchies) {
        std::string dir = target_dir(h, cg.relative, self);
        make_dir(h, dir, cg.dirs);
        targets.push_back({&h, dir});
        cg.all_dirs.push_back(dir);
    }
    apply_resources(targets, r.resources);
    for (const auto &t : targets) {
        auto orig = dir_in(before, *t.h);
        write_cgroup_file(t.dir, "cgroup.procs", std::to_string(pid));
        if (orig)
            undo.add([pid, orig = *orig] {
                write_cgroup_file(orig, "cgroup.procs", std::to_string(pid));
                return std::string();
            });
    }
    undo.commit();
    log::debug("cgroup: pid {} placed in {}", pid, join(cg.all_dirs, " "));
    return cg;
}

std::vector<pid_t> cgroup_pids(const Cgroup &cg)
{
    std::vector<pid_t> out;
    for (const auto &dir : cg.all_dirs) {
        if (!path_exists(dir))
            continue;
        auto pids = read_procs(dir);
        out.insert(out.end(), pids.begin(), pids.end());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::string remove_cgroup(const Cgroup &cg)
{
    auto dirs = cg.dirs;
    auto depth = [](const std::string &s) { return std::count(s.begin(), s.end(), '/'); };
    std::stable_sort(dirs.begin(), dirs.end(), [&](const std::string &a, const std::string &b) {
        return depth(a) > depth(b);
    });
    CleanupErrors errors;
    for (const auto &dir : dirs) {
        bool leaf = std::find(cg.all_dirs.begin(), cg.all_dirs.end(), dir) != cg.all_dirs.end();
        if (leaf) {
            // Child cgroups someone made inside ours (a shim, the workload) go too: they are
            // ours to clean up and rmdir of the parent fails while they exist. Looked for
            // only when that rmdir says busy: most leaves have none, and listing ten
            // directories of cgroupfs costs more than the rmdir itself.
            if (::rmdir(dir.c_str()) == 0 || errno == ENOENT)
                continue;
            rmdir_children(dir, errors);
            if (rmdir_cgroup(dir) < 0 && errno != ENOENT)
                errors.add(sys_error("rmdir `" + dir + "`").what());
        } else if (::rmdir(dir.c_str()) < 0 && errno != ENOENT && errno != ENOTEMPTY &&
                   errno != EBUSY) {
            // A parent we created on the way may now hold other containers' cgroups: it is
            // theirs too, and it stays until the last one goes.
            errors.add(sys_error("rmdir `" + dir + "`").what());
        }
    }
    return errors.str();
}

std::string cgroup_to_json(const Cgroup &cg)
{
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto list = [&](const char *key, const std::vector<std::string> &v) {
        w.Key(key);
        w.StartArray();
        for (const auto &s : v)
            w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
        w.EndArray();
    };
    w.StartObject();
    w.Key("relative");
    w.String(cg.relative.c_str(), static_cast<rapidjson::SizeType>(cg.relative.size()));
    list("dirs", cg.dirs);
    list("all_dirs", cg.all_dirs);
    w.EndObject();
    return buf.GetString();
}

Cgroup cgroup_from_json(std::string_view json)
{
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
    if (doc.HasParseError() || !doc.IsObject())
        throw Error("cgroup state: not a JSON object");
    auto str = [&](const rapidjson::Value &v, const char *what) {
        if (!v.IsString())
            throw Error(std::string("cgroup state: ") + what + ": expected a string");
        return std::string(v.GetString(), v.GetStringLength());
    };
    auto list = [&](const char *key) {
        std::vector<std::string> out;
        auto it = doc.FindMember(key);
        if (it == doc.MemberEnd())
            return out;
        if (!it->value.IsArray())
            throw Error(std::string("cgroup state: ") + key + ": expected an array");
        for (const auto &v : it->value.GetArray())
            out.push_back(str(v, key));
        return out;
    };
    Cgroup cg;
    auto rel = doc.FindMember("relative");
    if (rel != doc.MemberEnd())
        cg.relative = str(rel->value, "relative");
    cg.dirs = list("dirs");
    cg.all_dirs = list("all_dirs");
    return cg;
}

std::vector<CgroupMount> cgroup_mounts(std::string_view mountinfo, const std::string &name)
{
    // Mount flags that show up in a v1 cgroup's super options but are not controllers.
    static const std::set<std::string> not_controllers = {
        "rw",  "ro",   "noprefix",    "clone_children", "xattr", "cpuset_v2_mode",
        "all", "none", "favordynmods"};
    std::vector<CgroupMount> out;
    std::set<std::string> seen_devices;  // "major:minor": bind-mounted twice counts once
    size_t number = 0;
    for (const auto &line : split(mountinfo, '\n')) {
        ++number;
        // "36 35 0:31 / /sys/fs/cgroup/cpu rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct"
        auto dash = line.find(" - ");
        if (dash == std::string::npos)
            continue;
        auto after = split(std::string_view(line).substr(dash + 3), ' ');
        if (after.empty() || (after[0] != "cgroup" && after[0] != "cgroup2"))
            continue;
        auto before = split(std::string_view(line).substr(0, dash), ' ');
        if (before.size() < 6 || after.size() < 3)
            throw Error("parse `" + name + "`: line " + std::to_string(number) + " is malformed",
                        EINVAL);
        if (!seen_devices.insert(before[2]).second)
            continue;
        CgroupMount h{unescape_mountinfo(before[4]),
                      unescape_mountinfo(before[3]),
                      after[0] == "cgroup2",
                      {}};
        if (!h.v2) {
            for (auto &opt : split(after[2], ','))
                if (!opt.empty() && !not_controllers.count(opt) &&
                    (opt.find('=') == std::string::npos || starts_with(opt, "name=")))
                    h.controllers.insert(opt);
        }
        out.push_back(std::move(h));
    }
    return out;
}

}  // namespace urunc::linux
