#include "shim/naming.hpp"

#include "base/error.hpp"
#include "base/strings.hpp"
#include "oci/json_strings.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>

// libmd's SHA-256, not OpenSSL's: libcrypto alone costs the shim's front (run for every
// runtime verb) more time to load than the rest of it together.
#include <sha2.h>

namespace urunc::shim {

std::string find_containerd_address(const std::string &config_key, const char *grpc_env,
                                    const std::vector<std::string> &parent_argv,
                                    const char *ttrpc_env, std::string *source)
{
    auto said = [&](const char *s) {
        if (source)
            *source = s;
    };
    if (!config_key.empty()) {
        said("host config view_shim.containerd_address");
        return config_key;
    }
    if (grpc_env && *grpc_env) {
        said("GRPC_ADDRESS");
        return grpc_env;
    }
    for (size_t i = 1; i < parent_argv.size(); ++i) {
        const std::string &a = parent_argv[i];
        if ((a == "-address" || a == "--address") && i + 1 < parent_argv.size() &&
            !parent_argv[i + 1].empty()) {
            said("the parent shim's -address");
            return parent_argv[i + 1];
        }
        for (const char *p : {"-address=", "--address="}) {
            if (starts_with(a, p) && a.size() > std::string_view(p).size()) {
                said("the parent shim's -address");
                return a.substr(std::string_view(p).size());
            }
        }
    }
    if (ttrpc_env && *ttrpc_env) {
        std::string t = ttrpc_env;
        constexpr std::string_view suffix = ".ttrpc";
        if (t.size() > suffix.size() &&
            t.compare(t.size() - suffix.size(), suffix.size(), suffix) == 0) {
            said("TTRPC_ADDRESS without .ttrpc");
            return t.substr(0, t.size() - suffix.size());
        }
    }
    said("the default socket");
    return std::string(kDefaultAddress);
}

std::string find_namespace(const char *ns_env, const std::string &root)
{
    if (ns_env && *ns_env)
        return ns_env;
    std::string r = root;
    while (r.size() > 1 && r.back() == '/')
        r.pop_back();
    auto slash = r.rfind('/');
    std::string base = slash == std::string::npos ? r : r.substr(slash + 1);
    return base == "/" ? std::string() : base;
}

std::vector<std::string> split_cmdline(std::string_view raw)
{
    std::vector<std::string> out;
    size_t start = 0;
    while (start < raw.size()) {
        size_t end = raw.find('\0', start);
        if (end == std::string_view::npos)
            end = raw.size();
        out.emplace_back(raw.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string hash_parts(const std::vector<std::string> &parts)
{
    SHA2_CTX ctx;
    SHA256Init(&ctx);
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i > 0)
            SHA256Update(&ctx, reinterpret_cast<const uint8_t *>(""), 1);
        SHA256Update(&ctx, reinterpret_cast<const uint8_t *>(parts[i].data()), parts[i].size());
    }
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256Final(md, &ctx);
    const unsigned len = SHA256_DIGEST_LENGTH;
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

ViewNames view_names(const std::string &views_dir, const std::string &address,
                     const std::string &ns, const std::string &snapshotter,
                     const std::string &parent)
{
    ViewNames v;
    // The address is part of the name: two containerds on one host (the machine's and a
    // test's) share the views directory but never a view.
    v.hash = hash_parts({address, ns, snapshotter, parent}).substr(0, 32);
    v.key = "urunc-view-" + v.hash;
    v.lease = "urunc-view-" + v.hash;
    v.label = "containerd.io/gc.ref.snapshot." + snapshotter + "/urunc-view";
    v.mountpoint = views_dir + "/" + v.hash;
    v.lock = views_dir + "/" + v.hash + ".lock";
    return v;
}

std::string marker_path(const std::string &views_dir, const std::string &root,
                        const std::string &id)
{
    return views_dir + "/containers/" + hash_parts({root, id}).substr(0, 32) + ".json";
}

std::string pin_filter(const ViewNames &v)
{
    return "labels.\"" + v.label + "\"==\"" + v.key + "\"";
}

std::string rewrite_view_annotation(const std::string &config_json,
                                    const std::optional<std::string> &view)
{
    rapidjson::Document doc;
    // Iterative: the default parser recurses once per nesting level, and a bundle's
    // config.json of a few hundred KB of `[` overflowed the shim's stack. The same
    // encoding check as urunc's parser, so both refuse the same files.
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        config_json.data(), config_json.size());
    if (doc.HasParseError())
        throw Error(std::string("config.json: ") +
                    rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                    std::to_string(doc.GetErrorOffset()));
    if (!doc.IsObject())
        throw Error("config.json: the document must be an object");
    // Writing the document back (Accept) recurses once per level: refuse what urunc's own
    // walk refuses (too deep, NUL in a string) before that, with urunc's words.
    if (std::string why = oci::json_strings_problem(doc); !why.empty())
        throw Error("config.json: " + why);
    auto &alloc = doc.GetAllocator();
    auto it = doc.FindMember("annotations");
    if (it != doc.MemberEnd() && !it->value.IsObject() && !it->value.IsNull())
        throw Error("config.json: annotations: expected an object");
    if (it == doc.MemberEnd() || it->value.IsNull()) {
        if (!view)
            return config_json;  // nothing to remove: leave the file as it was
        if (it != doc.MemberEnd())
            it->value.SetObject();
        else
            doc.AddMember("annotations", rapidjson::Value(rapidjson::kObjectType), alloc);
        it = doc.FindMember("annotations");
    }
    rapidjson::Value &ann = it->value;
    const rapidjson::Value key(kViewAnnotation.data(),
                               static_cast<rapidjson::SizeType>(kViewAnnotation.size()));
    bool had = ann.HasMember(key);
    if (!view && !had)
        return config_json;
    // Any spelling already there (from the image or the user) goes: only the shim names views.
    while (ann.RemoveMember(key)) {}
    if (view)
        ann.AddMember(
            rapidjson::Value(kViewAnnotation.data(),
                             static_cast<rapidjson::SizeType>(kViewAnnotation.size()), alloc),
            rapidjson::Value(view->data(), static_cast<rapidjson::SizeType>(view->size()), alloc),
            alloc);
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    doc.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace urunc::shim
