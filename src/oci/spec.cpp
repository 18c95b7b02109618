#include "oci/spec.hpp"

#include "base/error.hpp"
#include "base/file.hpp"

#include <rapidjson/document.h>
#include "oci/json_error.hpp"
#include "oci/json_strings.hpp"

#include <fmt/format.h>

#include <sys/resource.h>

namespace urunc::oci {
namespace {

using Value = rapidjson::Value;

[[noreturn]] void fail(const std::string &path, const std::string &why)
{
    throw Error(fmt::format("config.json: {}: {}", path, why));
}

const Value *member(const Value &obj, const char *name)
{
    auto it = obj.FindMember(name);
    if (it == obj.MemberEnd() || it->value.IsNull())
        return nullptr;
    return &it->value;
}

std::string str(const Value &v, const std::string &path)
{
    if (!v.IsString())
        fail(path, "expected a string");
    return std::string(v.GetString(), v.GetStringLength());
}

std::string opt_str(const Value &obj, const char *name, const std::string &path)
{
    const Value *v = member(obj, name);
    return v ? str(*v, path + "." + name) : std::string();
}

bool opt_bool(const Value &obj, const char *name, const std::string &path)
{
    const Value *v = member(obj, name);
    if (!v)
        return false;
    if (!v->IsBool())
        fail(path + "." + name, "expected a boolean");
    return v->GetBool();
}

template <typename T> T opt_int(const Value &obj, const char *name, const std::string &path)
{
    const Value *v = member(obj, name);
    if (!v)
        return 0;
    if constexpr (std::is_signed_v<T>) {
        if (!v->IsInt64())
            fail(path + "." + name, "expected an integer");
        return static_cast<T>(v->GetInt64());
    } else {
        if (!v->IsUint64() || v->GetUint64() > std::numeric_limits<T>::max())
            fail(path + "." + name, "expected a non-negative integer");
        return static_cast<T>(v->GetUint64());
    }
}

const Value &object(const Value &v, const std::string &path)
{
    if (!v.IsObject())
        fail(path, "expected an object");
    return v;
}

const Value *opt_object(const Value &obj, const char *name, const std::string &path)
{
    const Value *v = member(obj, name);
    if (v)
        object(*v, path + "." + name);
    return v;
}

std::vector<std::string> str_array(const Value &obj, const char *name, const std::string &path)
{
    std::vector<std::string> out;
    const Value *v = member(obj, name);
    if (!v)
        return out;
    std::string p = path + "." + name;
    if (!v->IsArray())
        fail(p, "expected an array of strings");
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i)
        out.push_back(str((*v)[i], fmt::format("{}[{}]", p, i)));
    return out;
}

DeviceRule parse_device_rule(const Value &d, const std::string &path)
{
    DeviceRule r;
    if (!member(d, "allow") || !d["allow"].IsBool())
        fail(path + ".allow", "expected a boolean");
    r.allow = d["allow"].GetBool();
    std::string type = opt_str(d, "type", path);
    if (type.empty())
        type = "a";
    if (type != "a" && type != "b" && type != "c")
        fail(path + ".type", fmt::format("`{}` is not one of a, b, c", type));
    r.type = type[0];
    r.major = member(d, "major") ? opt_int<int64_t>(d, "major", path) : -1;
    r.minor = member(d, "minor") ? opt_int<int64_t>(d, "minor", path) : -1;
    if (r.major < -1 || r.minor < -1)
        fail(path, "major and minor must be -1 (any) or more");
    r.access = opt_str(d, "access", path);
    if (r.access.empty())
        r.access = "rwm";
    for (char c : r.access)
        if (c != 'r' && c != 'w' && c != 'm')
            fail(path + ".access", fmt::format("`{}` is not a subset of rwm", r.access));
    return r;
}

// process.user: uid, gid and the additional gids; -1 for any is refused.
void parse_user(const Value &u, Spec &s, const std::string &path)
{
    s.uid = opt_int<uint32_t>(u, "uid", path + ".user");
    s.gid = opt_int<uint32_t>(u, "gid", path + ".user");
    // (uid_t)-1 tells setresuid "leave unchanged": the VMM would stay root.
    if (s.uid == static_cast<uint32_t>(-1))
        fail(path + ".user.uid", "4294967295 (-1) is not a valid uid");
    if (s.gid == static_cast<uint32_t>(-1))
        fail(path + ".user.gid", "4294967295 (-1) is not a valid gid");
    const Value *g = member(u, "additionalGids");
    if (!g)
        return;
    if (!g->IsArray())
        fail(path + ".user.additionalGids", "expected an array of integers");
    for (rapidjson::SizeType i = 0; i < g->Size(); ++i) {
        if (!(*g)[i].IsUint())
            fail(fmt::format("{}.user.additionalGids[{}]", path, i), "expected a gid");
        if ((*g)[i].GetUint() == static_cast<uint32_t>(-1))
            fail(fmt::format("{}.user.additionalGids[{}]", path, i),
                 "4294967295 (-1) is not a valid gid");
        s.additional_gids.push_back((*g)[i].GetUint());
    }
}

// process.rlimits: known names, soft <= hard, each resource once.
void parse_rlimits(const Value &rl, Spec &s, const std::string &path)
{
    if (!rl.IsArray())
        fail(path + ".rlimits", "expected an array");
    for (rapidjson::SizeType i = 0; i < rl.Size(); ++i) {
        std::string rp = fmt::format("{}.rlimits[{}]", path, i);
        const Value &r = object(rl[i], rp);
        Rlimit out;
        out.name = opt_str(r, "type", rp);
        int res = rlimit_number(out.name);
        if (res < 0)
            fail(rp + ".type", fmt::format("unknown rlimit `{}`", out.name));
        out.resource = res;
        out.soft = opt_int<uint64_t>(r, "soft", rp);
        out.hard = opt_int<uint64_t>(r, "hard", rp);
        if (out.soft > out.hard)
            fail(rp, fmt::format("soft limit {} is above the hard limit {}", out.soft, out.hard));
        for (const auto &prev : s.rlimits)
            if (prev.resource == res)
                fail(rp + ".type", fmt::format("duplicate rlimit `{}`", out.name));
        s.rlimits.push_back(std::move(out));
    }
}

// process.capabilities: five lists of capability names.
Capabilities parse_capabilities(const Value &c, const std::string &path)
{
    Capabilities caps;
    std::string cp = path + ".capabilities";
    auto list = [&](const char *name, std::vector<int> &out) {
        auto names = str_array(c, name, cp);
        for (size_t i = 0; i < names.size(); ++i) {
            try {
                out.push_back(capability_number(names[i]));
            } catch (const Error &e) {
                fail(fmt::format("{}.{}[{}]", cp, name, i), e.what());
            }
        }
    };
    list("bounding", caps.bounding);
    list("effective", caps.effective);
    list("inheritable", caps.inheritable);
    list("permitted", caps.permitted);
    list("ambient", caps.ambient);
    return caps;
}

void parse_process(const Value &p, Spec &s)
{
    const std::string path = "process";
    s.terminal = opt_bool(p, "terminal", path);
    if (const Value *cs = opt_object(p, "consoleSize", path)) {
        s.console_rows = opt_int<unsigned>(*cs, "height", path + ".consoleSize");
        s.console_cols = opt_int<unsigned>(*cs, "width", path + ".consoleSize");
    }
    if (const Value *u = opt_object(p, "user", path))
        parse_user(*u, s, path);
    s.args = str_array(p, "args", path);
    s.env = str_array(p, "env", path);
    s.cwd = opt_str(p, "cwd", path);
    if (s.cwd.empty())
        s.cwd = "/";
    else if (s.cwd[0] != '/')
        fail(path + ".cwd", "must be an absolute path");
    s.no_new_privileges = opt_bool(p, "noNewPrivileges", path);
    s.apparmor_profile = opt_str(p, "apparmorProfile", path);
    s.selinux_label = opt_str(p, "selinuxLabel", path);
    if (member(p, "oomScoreAdj")) {
        int v = opt_int<int>(p, "oomScoreAdj", path);
        if (v < -1000 || v > 1000)
            fail(path + ".oomScoreAdj", fmt::format("{} is outside [-1000, 1000]", v));
        s.oom_score_adj = v;
    }
    if (const Value *rl = member(p, "rlimits"))
        parse_rlimits(*rl, s, path);
    if (const Value *c = opt_object(p, "capabilities", path))
        s.capabilities = parse_capabilities(*c, path);
}

std::vector<SpecHook> parse_hook_list(const Value &hooks, const char *name)
{
    std::vector<SpecHook> out;
    const Value *list = member(hooks, name);
    if (!list)
        return out;
    std::string path = std::string("hooks.") + name;
    if (!list->IsArray())
        fail(path, "expected an array");
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
        std::string hp = fmt::format("{}[{}]", path, i);
        const Value &h = object((*list)[i], hp);
        SpecHook hook;
        hook.path = opt_str(h, "path", hp);
        if (hook.path.empty() || hook.path[0] != '/')
            fail(hp + ".path", "must be an absolute path");
        hook.args = str_array(h, "args", hp);
        hook.has_env = member(h, "env") != nullptr;
        hook.env = str_array(h, "env", hp);
        hook.timeout = opt_int<int>(h, "timeout", hp);
        if (member(h, "timeout") && hook.timeout <= 0)
            fail(hp + ".timeout", "must be greater than zero");
        out.push_back(std::move(hook));
    }
    return out;
}

// The kernel's own bounds, checked here so that create fails before anything is made and
// names the field (the cgroup write would fail later with a bare EINVAL).
void check_resource_ranges(const Resources &r, const std::string &rp)
{
    if (r.memory_limit < -1)
        fail(rp + ".memory.limit",
             fmt::format("{} is negative (-1 means no limit)", r.memory_limit));
    if (r.memory_swap < -1)
        fail(rp + ".memory.swap", fmt::format("{} is negative (-1 means no limit)", r.memory_swap));
    // cpu.cfs_quota_us: -1 (none) or at least 1 ms; cfs_period_us: 1 ms to 1 s (0: unset).
    if (r.cpu_quota < -1 || (r.cpu_quota > 0 && r.cpu_quota < 1000))
        fail(rp + ".cpu.quota",
             fmt::format("{} is out of range (-1, or at least 1000 microseconds)", r.cpu_quota));
    if (r.cpu_period != 0 && (r.cpu_period < 1000 || r.cpu_period > 1000000))
        fail(rp + ".cpu.period",
             fmt::format("{} is out of range (1000 to 1000000 microseconds)", r.cpu_period));
    const uint64_t period = r.cpu_period ? r.cpu_period : 100000;
    if (r.cpu_quota > 0 && static_cast<uint64_t>(r.cpu_quota) / period > 65536)
        fail(rp + ".cpu.quota", fmt::format("{} over a period of {} asks for more than 65536 CPUs",
                                            r.cpu_quota, period));
}

// linux.namespaces: known types, absolute paths, each type once.
void parse_namespaces(const Value &ns, Spec &s, const std::string &path)
{
    if (!ns.IsArray())
        fail(path + ".namespaces", "expected an array");
    for (rapidjson::SizeType i = 0; i < ns.Size(); ++i) {
        std::string np = fmt::format("{}.namespaces[{}]", path, i);
        const Value &n = object(ns[i], np);
        Namespace out{opt_str(n, "type", np), opt_str(n, "path", np)};
        static const char *known[] = {"mount", "network", "pid",  "ipc",
                                      "uts",   "cgroup",  "user", "time"};
        bool ok = false;
        for (auto *k : known)
            ok = ok || out.type == k;
        if (!ok)
            fail(np + ".type", fmt::format("unknown namespace type `{}`", out.type));
        if (!out.path.empty() && out.path[0] != '/')
            fail(np + ".path", "must be an absolute path");
        if (s.find_namespace(out.type))
            fail(np + ".type", fmt::format("duplicate namespace `{}`", out.type));
        s.namespaces.push_back(std::move(out));
    }
}

// linux.resources: memory, cpu (range-checked), pids and the device rules.
void parse_resources(const Value &r, Spec &s, const std::string &path)
{
    std::string rp = path + ".resources";
    if (const Value *m = opt_object(r, "memory", rp)) {
        s.resources.memory_limit = opt_int<int64_t>(*m, "limit", rp + ".memory");
        s.resources.memory_swap = opt_int<int64_t>(*m, "swap", rp + ".memory");
    }
    if (const Value *c = opt_object(r, "cpu", rp)) {
        s.resources.cpu_shares = opt_int<uint64_t>(*c, "shares", rp + ".cpu");
        s.resources.cpu_quota = opt_int<int64_t>(*c, "quota", rp + ".cpu");
        s.resources.cpu_period = opt_int<uint64_t>(*c, "period", rp + ".cpu");
        s.resources.cpuset_cpus = opt_str(*c, "cpus", rp + ".cpu");
        s.resources.cpuset_mems = opt_str(*c, "mems", rp + ".cpu");
    }
    check_resource_ranges(s.resources, rp);
    if (const Value *p = opt_object(r, "pids", rp))
        s.resources.pids_limit = opt_int<int64_t>(*p, "limit", rp + ".pids");
    if (const Value *d = member(r, "devices")) {
        if (!d->IsArray())
            fail(rp + ".devices", "expected an array");
        for (rapidjson::SizeType i = 0; i < d->Size(); ++i)
            s.resources.devices.push_back(
                parse_device_rule(object((*d)[i], fmt::format("{}.devices[{}]", rp, i)),
                                  fmt::format("{}.devices[{}]", rp, i)));
    }
}

// One of linux.devices: a node under /dev of type c, u, b or p.
LinuxDevice parse_linux_device(const Value &v, const std::string &dp)
{
    LinuxDevice dev;
    dev.path = opt_str(v, "path", dp);
    if (dev.path.rfind("/dev/", 0) != 0 || dev.path.find("/../") != std::string::npos ||
        dev.path.size() < 6 || dev.path.substr(dev.path.size() - 3) == "/..")
        fail(dp + ".path", fmt::format("`{}` must be a path under /dev", dev.path));
    std::string type = opt_str(v, "type", dp);
    if (type != "c" && type != "u" && type != "b" && type != "p")
        fail(dp + ".type", fmt::format("`{}` is not one of c, u, b, p", type));
    dev.type = type[0] == 'u' ? 'c' : type[0];
    dev.major = opt_int<int64_t>(v, "major", dp);
    dev.minor = opt_int<int64_t>(v, "minor", dp);
    if (member(v, "fileMode"))
        dev.file_mode = opt_int<uint32_t>(v, "fileMode", dp) & 07777;
    dev.uid = opt_int<uint32_t>(v, "uid", dp);
    dev.gid = opt_int<uint32_t>(v, "gid", dp);
    return dev;
}

void parse_linux(const Value &l, Spec &s)
{
    const std::string path = "linux";
    s.has_linux = true;
    if (const Value *ns = member(l, "namespaces"))
        parse_namespaces(*ns, s, path);
    s.cgroups_path = opt_str(l, "cgroupsPath", path);
    s.rootfs_propagation = opt_str(l, "rootfsPropagation", path);
    s.has_seccomp = member(l, "seccomp") != nullptr;
    if (const Value *r = opt_object(l, "resources", path))
        parse_resources(*r, s, path);
    s.masked_paths = str_array(l, "maskedPaths", path);
    s.readonly_paths = str_array(l, "readonlyPaths", path);
    for (const auto *list : {&s.masked_paths, &s.readonly_paths})
        for (const auto &mp : *list)
            if (mp.empty() || mp[0] != '/')
                fail(path + (list == &s.masked_paths ? ".maskedPaths" : ".readonlyPaths"),
                     fmt::format("`{}` must be an absolute path", mp));
    if (const Value *sc = opt_object(l, "sysctl", path)) {
        for (auto it = sc->MemberBegin(); it != sc->MemberEnd(); ++it) {
            std::string key(it->name.GetString(), it->name.GetStringLength());
            s.sysctl[key] = str(it->value, path + ".sysctl." + key);
        }
    }
    if (const Value *d = member(l, "devices")) {
        if (!d->IsArray())
            fail(path + ".devices", "expected an array");
        for (rapidjson::SizeType i = 0; i < d->Size(); ++i) {
            std::string dp = fmt::format("{}.devices[{}]", path, i);
            s.devices.push_back(parse_linux_device(object((*d)[i], dp), dp));
        }
    }
}

}  // namespace

int rlimit_number(std::string_view name)
{
    static const std::pair<const char *, int> table[] = {
        {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
        {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
    };
    for (const auto &[n, v] : table)
        if (name == n)
            return v;
    return -1;
}

const Namespace *Spec::find_namespace(const std::string &type) const
{
    for (const auto &n : namespaces)
        if (n.type == type)
            return &n;
    return nullptr;
}

Spec parse_spec(const std::string &json, const std::string &bundle)
{
    rapidjson::Document doc;
    // Iterative: the default parser recurses per nesting level, and a bundle's config.json
    // of a few hundred KB of `[` overflowed the stack (found by tests/fuzz).
    // Validating UTF-8: the runtime spec's JSON is UTF-8, and raw bytes would reach names,
    // paths and the guest's command line unchecked.
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(json.c_str(),
                                                                                      json.size());
    if (doc.HasParseError())
        throw Error(fmt::format("config.json: invalid JSON at offset {}: {}", doc.GetErrorOffset(),
                                doc.GetParseError() == rapidjson::kParseErrorStringInvalidEncoding
                                    ? "a string is not valid UTF-8"
                                    : json_parse_error(doc.GetParseError())));
    if (!doc.IsObject())
        fail("(root)", "expected an object");
    if (std::string why = json_strings_problem(doc); !why.empty())
        throw Error("config.json: " + why);
    Spec s;
    s.oci_version = opt_str(doc, "ociVersion", "(root)");
    if (s.oci_version.empty())
        fail("ociVersion", "missing");
    const Value *proc = opt_object(doc, "process", "(root)");
    if (!proc)
        fail("process", "missing");
    parse_process(*proc, s);
    const Value *root = opt_object(doc, "root", "(root)");
    if (!root)
        fail("root", "missing");
    std::string rp = opt_str(*root, "path", "root");
    if (rp.empty())
        fail("root.path", "missing");
    s.root_path = rp[0] == '/' ? rp : join_path(bundle, rp);
    s.root_readonly = opt_bool(*root, "readonly", "root");
    s.hostname = opt_str(doc, "hostname", "(root)");
    if (const Value *m = member(doc, "mounts")) {
        if (!m->IsArray())
            fail("mounts", "expected an array");
        for (rapidjson::SizeType i = 0; i < m->Size(); ++i) {
            std::string mp = fmt::format("mounts[{}]", i);
            const Value &mv = object((*m)[i], mp);
            Mount mount{opt_str(mv, "destination", mp), opt_str(mv, "type", mp),
                        opt_str(mv, "source", mp), str_array(mv, "options", mp)};
            if (mount.destination.empty())
                fail(mp + ".destination", "missing");
            s.mounts.push_back(std::move(mount));
        }
    }
    if (const Value *a = opt_object(doc, "annotations", "(root)")) {
        for (auto it = a->MemberBegin(); it != a->MemberEnd(); ++it) {
            std::string key(it->name.GetString(), it->name.GetStringLength());
            s.annotations[key] = str(it->value, "annotations." + key);
        }
    }
    if (const Value *h = opt_object(doc, "hooks", "(root)")) {
        s.hooks.prestart = parse_hook_list(*h, "prestart");
        s.hooks.create_runtime = parse_hook_list(*h, "createRuntime");
        s.hooks.create_container = parse_hook_list(*h, "createContainer");
        s.hooks.start_container = parse_hook_list(*h, "startContainer");
        s.hooks.poststart = parse_hook_list(*h, "poststart");
        s.hooks.poststop = parse_hook_list(*h, "poststop");
    }
    if (const Value *l = opt_object(doc, "linux", "(root)"))
        parse_linux(*l, s);
    return s;
}

Spec load_spec(const std::string &bundle)
{
    std::string path = join_path(bundle, "config.json");
    return parse_spec(read_regular_file(path, kMaxConfigJson), bundle);
}

}  // namespace urunc::oci
