#include "oci/state.hpp"

#include "base/error.hpp"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string_view>

namespace urunc::oci {

namespace {
constexpr int kSchema = 1;
constexpr const char *kMarker = "urunc";
}  // namespace

const char *to_string(Status s)
{
    switch (s) {
    case Status::creating: return "creating";
    case Status::created: return "created";
    case Status::running: return "running";
    case Status::paused: return "paused";
    case Status::stopped: return "stopped";
    }
    return "stopped";
}

bool valid_id(const std::string &id)
{
    // At most NAME_MAX: the id names the state directory (and a cgroup directory).
    if (id.empty() || id.size() > 255 || id == "." || id == "..")
        return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static std::string get_str(const rapidjson::Value &o, const char *k)
{
    auto it = o.FindMember(k);
    return it != o.MemberEnd() && it->value.IsString()
               ? std::string(it->value.GetString(), it->value.GetStringLength())
               : std::string();
}

State parse_state(const std::string &text, const std::string &where)
{
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(text.c_str(), text.size());  // no recursion
    if (d.HasParseError() || !d.IsObject() || !d.HasMember(kMarker))
        throw Error("`" + where + "` is not a urunc state file");
    State s;
    s.id = get_str(d, "id");
    s.bundle = get_str(d, "bundle");
    s.rootfs = get_str(d, "rootfs");
    s.oci_version = get_str(d, "ociVersion");
    s.created = get_str(d, "created");
    if (d.HasMember("pid") && d["pid"].IsInt())
        s.pid = d["pid"].GetInt();
    if (d.HasMember("pidStart") && d["pidStart"].IsUint64())
        s.pid_start = d["pidStart"].GetUint64();
    s.creating = d.HasMember("creating") && d["creating"].IsBool() && d["creating"].GetBool();
    if (d.HasMember("annotations") && d["annotations"].IsObject())
        for (auto &m : d["annotations"].GetObject())
            if (m.value.IsString())
                s.annotations[std::string(m.name.GetString(), m.name.GetStringLength())] =
                    std::string(m.value.GetString(), m.value.GetStringLength());
    s.host_config = get_str(d, "hostConfig");
    s.cgroup = get_str(d, "cgroup");
    s.rootfs_choice = get_str(d, "rootfsChoice");
    s.artifact_source = get_str(d, "artifactSource");
    s.copy_dir = get_str(d, "copyDir");
    s.net_iface = get_str(d, "netIface");
    s.net_tap = get_str(d, "netTap");
    s.systemd_cgroup =
        d.HasMember("systemdCgroup") && d["systemdCgroup"].IsBool() && d["systemdCgroup"].GetBool();
    return s;
}

std::string state_to_json(const State &s)
{
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto kv = [&](std::string_view k, const std::string &v) {  // NUL-safe: lengths, not strlen
        w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    };
    w.StartObject();
    w.Key(kMarker);
    w.Int(kSchema);
    kv("id", s.id);
    kv("bundle", s.bundle);
    kv("rootfs", s.rootfs);
    kv("ociVersion", s.oci_version);
    kv("created", s.created);
    w.Key("pid");
    w.Int(s.pid);
    w.Key("pidStart");
    w.Uint64(s.pid_start);
    w.Key("creating");
    w.Bool(s.creating);
    w.Key("annotations");
    w.StartObject();
    for (const auto &[k, v] : s.annotations)
        kv(k, v);
    w.EndObject();
    kv("hostConfig", s.host_config);
    kv("cgroup", s.cgroup);
    kv("rootfsChoice", s.rootfs_choice);
    kv("artifactSource", s.artifact_source);
    kv("copyDir", s.copy_dir);
    kv("netIface", s.net_iface);
    kv("netTap", s.net_tap);
    w.Key("systemdCgroup");
    w.Bool(s.systemd_cgroup);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

std::string oci_state_json(const State &s, Status st, bool pretty, const std::string &owner)
{
    rapidjson::StringBuffer buf;
    auto emit = [&](auto &w) {
        auto kv = [&](std::string_view k, const std::string &v) {
            w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
            w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
        };
        w.StartObject();
        kv("ociVersion", s.oci_version);
        kv("id", s.id);
        w.Key("pid");
        w.Int(st == Status::stopped ? 0 : s.pid);
        kv("status", to_string(st));
        kv("bundle", s.bundle);
        kv("rootfs", s.rootfs);
        kv("created", s.created);
        if (!s.annotations.empty()) {
            w.Key("annotations");
            w.StartObject();
            for (const auto &[k, v] : s.annotations)
                kv(k, v);
            w.EndObject();
        }
        kv("owner", owner);
        w.EndObject();
    };
    if (pretty) {
        rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
        w.SetIndent(' ', 2);
        emit(w);
    } else {
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        emit(w);
    }
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace urunc::oci
