#include "oci/host_config.hpp"

#include "oci/json_error.hpp"

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"
#include "oci/guest_resources.hpp"
#include "oci/unikernel_config.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <toml++/toml.h>

#include <fcntl.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <utility>

namespace urunc::oci {

std::map<std::string, MonitorConfig> HostConfig::default_monitors()
{
    // memory_overhead_mib: qemu's is measured under TCG by bench/run.sh --only memory
    // (peak RSS minus guest RAM, rounded up with a margin); the others are estimates, not
    // measured here (they need KVM): docs/configuration.md.
    auto with_overhead = [](uint64_t mib) {
        MonitorConfig m;
        m.memory_overhead_mib = mib;
        return m;
    };
    return {{"qemu", with_overhead(128)},
            {"firecracker", with_overhead(32)},
            {"cloud-hypervisor", with_overhead(48)},
            {"hvt", with_overhead(16)},
            {"spt", with_overhead(16)}};
}

namespace {

std::string_view type_name(const toml::node &n)
{
    switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date/time";
    }
}

// Reads typed values out of one TOML document; every error names file, line and key.
class Reader {
public:
    explicit Reader(const std::string &file) : file_(file) {}

    Error error(const toml::node &n, const std::string &key, std::string_view reason) const
    {
        return Error("config `" + file_ + "`: line " + std::to_string(n.source().begin.line) +
                     ": `" + key + "`: " + std::string(reason));
    }

    const toml::table *table(const toml::table &parent, std::string_view name,
                             const std::string &key) const
    {
        const toml::node *n = parent.get(name);
        if (!n)
            return nullptr;
        if (!n->is_table())
            throw error(*n, key, "expected a table, got " + std::string(type_name(*n)));
        return n->as_table();
    }

    void get(const toml::table &t, std::string_view name, const std::string &prefix,
             std::string &out) const
    {
        if (const toml::node *n = t.get(name)) {
            if (!n->is_string())
                throw error(*n, prefix + std::string(name),
                            "expected a string, got " + std::string(type_name(*n)));
            out = n->as_string()->get();
        }
    }

    void get(const toml::table &t, std::string_view name, const std::string &prefix,
             bool &out) const
    {
        if (const toml::node *n = t.get(name)) {
            if (!n->is_boolean())
                throw error(*n, prefix + std::string(name),
                            "expected a boolean, got " + std::string(type_name(*n)));
            out = n->as_boolean()->get();
        }
    }

    // Integers in [min, max].
    template <typename T>
    void get(const toml::table &t, std::string_view name, const std::string &prefix, T &out,
             int64_t min, int64_t max) const
    {
        if (const toml::node *n = t.get(name)) {
            std::string key = prefix + std::string(name);
            if (!n->is_integer())
                throw error(*n, key, "expected an integer, got " + std::string(type_name(*n)));
            int64_t v = n->as_integer()->get();
            if (v < min || v > max)
                throw error(*n, key,
                            std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
                                std::to_string(max) + "]");
            out = static_cast<T>(v);
        }
    }

    // A host path that is bind-mounted or exec'ed: must be absolute when set.
    void get_path(const toml::table &t, std::string_view name, const std::string &prefix,
                  std::string &out) const
    {
        get(t, name, prefix, out);
        if (!out.empty() && out.front() != '/')
            throw error(*t.get(name), prefix + std::string(name),
                        "`" + out + "` must be an absolute path");
    }

private:
    std::string file_;
};

std::optional<std::string> normalise_level(std::string_view l)
{
    // Upstream used logrus level names; map them onto our four levels.
    if (l == "trace" || l == "debug")
        return "debug";
    if (l == "info")
        return "info";
    if (l == "warn" || l == "warning")
        return "warn";
    if (l == "error" || l == "fatal" || l == "panic")
        return "error";
    return std::nullopt;
}

void read_monitor(const Reader &r, const toml::table &t, const std::string &prefix,
                  MonitorConfig &m)
{
    r.get_path(t, "path", prefix, m.path);
    // default_memory_mb is upstream's name; its value was MiB all along.
    r.get(t, "default_memory_mb", prefix, m.default_memory_mib, 1, int64_t{1} << 32);
    r.get(t, "default_memory_mib", prefix, m.default_memory_mib, 1, int64_t{1} << 32);
    r.get(t, "default_vcpus", prefix, m.default_vcpus, 1, 1024);
    r.get(t, "memory_overhead_mib", prefix, m.memory_overhead_mib, 0, int64_t{1} << 32);
    r.get_path(t, "data_path", prefix, m.data_path);
    r.get(t, "vhost", prefix, m.vhost);
}

void read_document(const Reader &r, const toml::table &doc, HostConfig &c)
{
    if (const auto *mons = r.table(doc, "monitors", "monitors")) {
        for (auto &&[name, node] : *mons) {
            std::string prefix = "monitors." + std::string(name.str());
            if (!node.is_table())
                throw r.error(node, prefix,
                              "expected a table, got " + std::string(type_name(node)));
            // A VMM without built-in defaults still gets them (map insertion).
            read_monitor(r, *node.as_table(), prefix + ".", c.monitors[std::string(name.str())]);
        }
    }
    if (const auto *extra = r.table(doc, "extra_binaries", "extra_binaries")) {
        const std::string key = "extra_binaries.virtiofsd";
        if (const auto *v = r.table(*extra, "virtiofsd", key)) {
            r.get_path(*v, "path", key + ".", c.extra_binaries.virtiofsd);
            // The section is the opt-in: without a binary it would mean nothing.
            if (c.extra_binaries.virtiofsd.empty())
                throw r.error(*extra->get("virtiofsd"), key + ".path",
                              "must be set (the virtiofsd binary) when the section is present");
        }
    }
    if (const auto *log = r.table(doc, "log", "log")) {
        r.get(*log, "level", "log.", c.log.level);
        auto level = normalise_level(c.log.level);
        if (!level)
            throw r.error(*log->get("level"), "log.level",
                          "`" + c.log.level + "` is not one of debug, info, warn, error");
        c.log.level = *level;
        bool syslog = false;
        r.get(*log, "syslog", "log.", syslog);
        if (syslog)
            throw r.error(*log->get("syslog"), "log.syslog",
                          "not supported: urunc logs to --log or stderr "
                          "(set it to false or remove it)");
    }
    if (const auto *ts = r.table(doc, "timestamps", "timestamps")) {
        r.get(*ts, "enabled", "timestamps.", c.timestamps.enabled);
        r.get_path(*ts, "destination", "timestamps.", c.timestamps.destination);
    }
    if (const auto *sv = r.table(doc, "snapshot_view", "snapshot_view")) {
        if (const toml::node *n = sv->get("allowed_prefixes")) {
            const auto *arr = n->as_array();
            if (!arr)
                throw r.error(*n, "snapshot_view.allowed_prefixes",
                              "expected an array, got " + std::string(type_name(*n)));
            c.snapshot_view.allowed_prefixes.clear();
            for (const auto &e : *arr) {
                if (!e.is_string() || e.as_string()->get().empty() ||
                    e.as_string()->get().front() != '/')
                    throw r.error(e, "snapshot_view.allowed_prefixes",
                                  "every entry must be an absolute path string");
                // Normalised so that a later prefix match cannot be fooled by "//" or "/./".
                c.snapshot_view.allowed_prefixes.push_back(clean_path(e.as_string()->get()));
            }
        }
        r.get_path(*sv, "views_dir", "snapshot_view.", c.snapshot_view.views_dir);
        if (c.snapshot_view.views_dir.empty())
            throw r.error(*sv->get("views_dir"), "snapshot_view.views_dir", "must not be empty");
        c.snapshot_view.views_dir = clean_path(c.snapshot_view.views_dir);
    }
    if (const auto *vs = r.table(doc, "view_shim", "view_shim")) {
        r.get(*vs, "containerd_address", "view_shim.", c.view_shim.containerd_address);
        r.get_path(*vs, "urunc_path", "view_shim.", c.view_shim.urunc_path);
    }
    if (const auto *rt = r.table(doc, "runtime", "runtime")) {
        r.get(*rt, "require_kvm", "runtime.", c.runtime.require_kvm);
        r.get(*rt, "runc_path", "runtime.", c.runtime.runc_path);
        r.get(*rt, "memory_overhead", "runtime.", c.runtime.memory_overhead);
        r.get_path(*rt, "cache_dir", "runtime.", c.runtime.cache_dir);
        OverheadMode mode;
        if (!parse_overhead_mode(c.runtime.memory_overhead, mode))
            throw r.error(*rt->get("memory_overhead"), "runtime.memory_overhead",
                          "`" + c.runtime.memory_overhead + "` is not one of reserve, add");
        const std::string &p = c.runtime.runc_path;
        // A bare name is looked up in PATH; anything with a slash must be absolute.
        if (p.empty() || (p.find('/') != std::string::npos && p.front() != '/'))
            throw r.error(*rt->get("runc_path"), "runtime.runc_path",
                          "`" + p + "` must be a command name or an absolute path");
    }
}

}  // namespace

std::vector<std::string> HostConfig::SnapshotView::effective_prefixes() const
{
    if (!allowed_prefixes.empty())
        return allowed_prefixes;
    return {views_dir};
}

namespace {

// toml++ 3.3.0 (Debian 12) reaches __builtin_unreachable() when it asks whether some non-ASCII
// code points (e.g. U+00E9, U+3047, U+FC06) are Unicode whitespace, which it does for each
// character of a bare value and after a line-ending backslash in a multi-line string: undefined
// behaviour on a typo. TOML 1.0 allows non-ASCII only in strings and comments, and the host
// config holds paths, names and numbers, so it is ASCII outside comments: any other byte >= 0x80
// is refused before toml++ sees the text. Returns the 1-based line and column of the first one.
std::optional<std::pair<size_t, size_t>> non_ascii_outside_comment(std::string_view t)
{
    enum class In { code, comment, basic, literal, ml_basic, ml_literal } in = In::code;
    size_t line = 1, col = 0;
    auto at = [&t](size_t i, std::string_view s) { return t.substr(i, s.size()) == s; };
    for (size_t i = 0; i < t.size(); ++i) {
        const auto ch = static_cast<unsigned char>(t[i]);
        ++col;
        if (ch == '\n') {
            ++line;
            col = 0;
            if (in == In::comment || in == In::basic || in == In::literal)
                in = In::code;  // an unterminated one-line string is toml++'s error to report
            continue;
        }
        if (ch >= 0x80) {
            if (in != In::comment)
                return std::pair{line, col};
            continue;
        }
        // Where a string or comment ends, so that a '#' or quote inside one is not code.
        size_t skip = 0;
        switch (in) {
        case In::code:
            if (ch == '#')
                in = In::comment;
            else if (at(i, R"(""")"))
                in = In::ml_basic, skip = 2;
            else if (at(i, "'''"))
                in = In::ml_literal, skip = 2;
            else if (ch == '"')
                in = In::basic;
            else if (ch == '\'')
                in = In::literal;
            break;
        case In::basic:
        case In::ml_basic:
            if (ch == '\\' && i + 1 < t.size() && t[i + 1] != '\n')
                skip = static_cast<unsigned char>(t[i + 1]) < 0x80;  // else refused next round
            else if (in == In::basic && ch == '"')
                in = In::code;
            else if (in == In::ml_basic && at(i, R"(""")"))
                in = In::code, skip = 2;
            break;
        case In::literal:
            if (ch == '\'')
                in = In::code;
            break;
        case In::ml_literal:
            if (at(i, "'''"))
                in = In::code, skip = 2;
            break;
        case In::comment: break;
        }
        i += skip;
        col += skip;
    }
    return std::nullopt;
}

}  // namespace

HostConfig parse_host_config(std::string_view text, const std::string &name)
{
    HostConfig c;
    c.source = name;
    if (auto at = non_ascii_outside_comment(text))
        throw Error("config `" + name + "`: line " + std::to_string(at->first) + ", column " +
                    std::to_string(at->second) +
                    ": non-ASCII character (the host config is ASCII outside comments)");
    toml::table doc;
    try {
        doc = toml::parse(text, name);
    } catch (const toml::parse_error &e) {
        throw Error("config `" + name + "`: line " + std::to_string(e.source().begin.line) +
                    ", column " + std::to_string(e.source().begin.column) + ": " +
                    std::string(e.description()));
    }
    read_document(Reader(name), doc, c);
    return c;
}

HostConfig load_host_config()
{
    const char *env = std::getenv("URUNC_CONFIG");
    std::string path = env && *env ? env : kDefaultHostConfigPath;
    // Checked without an exception: the usual host has no file, and every command asks (a
    // first throw loads the unwinder's tables: ~0.1 ms and their pages in every verb).
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return HostConfig{};  // no file: built-in defaults, as documented
        throw wrap("config", sys_error("open `" + path + "`"));
    }
    std::string text;
    try {
        text = read_fd(fd.get(), path);
    } catch (const Error &e) {
        throw wrap("config", e);
    }
    return parse_host_config(text, path);
}

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(Writer &w, const char *k, const std::string &v)
{
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
void put(Writer &w, const char *k, bool v)
{
    w.Key(k);
    w.Bool(v);
}
void put(Writer &w, const char *k, uint64_t v)
{
    w.Key(k);
    w.Uint64(v);
}

// Strict JSON reader for the state copy: wrong types are corruption, not user input.
struct JsonIn {
    const rapidjson::Value &obj;
    std::string path;

    Error bad(const char *k, const char *want) const
    {
        return Error("host config json: `" + path + k + "`: expected " + want);
    }
    const rapidjson::Value *find(const char *k) const
    {
        auto it = obj.FindMember(k);
        return it == obj.MemberEnd() ? nullptr : &it->value;
    }
    void get(const char *k, std::string &out) const
    {
        if (const auto *v = find(k)) {
            if (!v->IsString())
                throw bad(k, "a string");
            out.assign(v->GetString(), v->GetStringLength());
        }
    }
    void get(const char *k, bool &out) const
    {
        if (const auto *v = find(k)) {
            if (!v->IsBool())
                throw bad(k, "a boolean");
            out = v->GetBool();
        }
    }
    template <typename T> void get(const char *k, T &out, uint64_t max) const
    {
        if (const auto *v = find(k)) {
            if (!v->IsUint64() || v->GetUint64() > max)
                throw bad(k, "an unsigned integer");
            out = static_cast<T>(v->GetUint64());
        }
    }
    std::optional<JsonIn> sub(const char *k) const
    {
        const auto *v = find(k);
        if (!v)
            return std::nullopt;
        if (!v->IsObject())
            throw bad(k, "an object");
        return JsonIn{*v, path + k + "."};
    }
};

}  // namespace

std::string host_config_to_json(const HostConfig &c)
{
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("monitors");
    w.StartObject();
    for (const auto &[name, m] : c.monitors) {
        w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
        w.StartObject();
        put(w, "path", m.path);
        put(w, "default_memory_mib", m.default_memory_mib);
        put(w, "default_vcpus", uint64_t{m.default_vcpus});
        put(w, "memory_overhead_mib", m.memory_overhead_mib);
        put(w, "data_path", m.data_path);
        put(w, "vhost", m.vhost);
        w.EndObject();
    }
    w.EndObject();
    w.Key("log");
    w.StartObject();
    put(w, "level", c.log.level);
    w.EndObject();
    w.Key("extra_binaries");
    w.StartObject();
    put(w, "virtiofsd", c.extra_binaries.virtiofsd);
    w.EndObject();
    w.Key("timestamps");
    w.StartObject();
    put(w, "enabled", c.timestamps.enabled);
    put(w, "destination", c.timestamps.destination);
    w.EndObject();
    w.Key("snapshot_view");
    w.StartObject();
    w.Key("allowed_prefixes");
    w.StartArray();
    for (const auto &p : c.snapshot_view.allowed_prefixes)
        w.String(p.data(), static_cast<rapidjson::SizeType>(p.size()));
    w.EndArray();
    put(w, "views_dir", c.snapshot_view.views_dir);
    w.EndObject();
    w.Key("view_shim");
    w.StartObject();
    put(w, "containerd_address", c.view_shim.containerd_address);
    put(w, "urunc_path", c.view_shim.urunc_path);
    w.EndObject();
    w.Key("runtime");
    w.StartObject();
    put(w, "require_kvm", c.runtime.require_kvm);
    put(w, "runc_path", c.runtime.runc_path);
    put(w, "memory_overhead", c.runtime.memory_overhead);
    put(w, "cache_dir", c.runtime.cache_dir);
    w.EndObject();
    put(w, "source", c.source);
    w.EndObject();
    return buf.GetString();
}

HostConfig host_config_from_json(std::string_view json)
{
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());  // no recursion
    if (doc.HasParseError())
        throw Error(std::string("host config json: ") + json_parse_error(doc.GetParseError()) +
                    " at offset " + std::to_string(doc.GetErrorOffset()));
    if (!doc.IsObject())
        throw Error("host config json: the document must be an object");
    HostConfig c;
    JsonIn in{doc, ""};
    if (auto mons = in.sub("monitors")) {
        for (const auto &m : mons->obj.GetObject()) {
            std::string name(m.name.GetString(), m.name.GetStringLength());
            if (!m.value.IsObject())
                throw mons->bad(name.c_str(), "an object");
            JsonIn one{m.value, mons->path + name + "."};
            MonitorConfig &mc = c.monitors[name];
            one.get("path", mc.path);
            one.get("default_memory_mib", mc.default_memory_mib, UINT64_MAX);
            one.get("default_vcpus", mc.default_vcpus, UINT_MAX);
            one.get("memory_overhead_mib", mc.memory_overhead_mib, UINT64_MAX);
            one.get("data_path", mc.data_path);
            one.get("vhost", mc.vhost);
        }
    }
    if (auto l = in.sub("log")) {
        l->get("level", c.log.level);
    }
    if (auto e = in.sub("extra_binaries")) {
        e->get("virtiofsd", c.extra_binaries.virtiofsd);
    }
    if (auto t = in.sub("timestamps")) {
        t->get("enabled", c.timestamps.enabled);
        t->get("destination", c.timestamps.destination);
    }
    if (auto s = in.sub("snapshot_view")) {
        if (const auto *a = s->find("allowed_prefixes")) {
            if (!a->IsArray())
                throw s->bad("allowed_prefixes", "an array of strings");
            for (const auto &e : a->GetArray()) {
                if (!e.IsString())
                    throw s->bad("allowed_prefixes", "an array of strings");
                c.snapshot_view.allowed_prefixes.emplace_back(e.GetString(), e.GetStringLength());
            }
        }
        s->get("views_dir", c.snapshot_view.views_dir);
    }
    if (auto v = in.sub("view_shim")) {
        v->get("containerd_address", c.view_shim.containerd_address);
        v->get("urunc_path", c.view_shim.urunc_path);
    }
    if (auto r = in.sub("runtime")) {
        r->get("require_kvm", c.runtime.require_kvm);
        r->get("runc_path", c.runtime.runc_path);
        r->get("memory_overhead", c.runtime.memory_overhead);
        r->get("cache_dir", c.runtime.cache_dir);
    }
    in.get("source", c.source);
    return c;
}

}  // namespace urunc::oci
