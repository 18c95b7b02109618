#include "oci/unikernel_config.hpp"

#include "oci/json_error.hpp"

#include "base/error.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"
#include "unikernels/guest.hpp"
#include "vmm/vmm.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>
#include <array>
#include <cstdio>

namespace urunc::oci {
namespace {

constexpr size_t kMaxLen = 4096;  // PATH_MAX; also upstream's limit for every value

// The string-valued keys, in documentation order. mountRootfs is parsed separately.
struct StringKey {
    std::string_view name;  // without the prefix
    std::string UnikernelConfig::*field;
    bool from_json;  // snapshotView names a host path: only the shim may set it, never the image
};
constexpr std::array<StringKey, 11> kStringKeys{{
    {"unikernelType", &UnikernelConfig::type, true},
    {"hypervisor", &UnikernelConfig::hypervisor, true},
    {"binary", &UnikernelConfig::binary, true},
    {"cmdline", &UnikernelConfig::cmdline, true},
    {"unikernelVersion", &UnikernelConfig::version, true},
    {"initrd", &UnikernelConfig::initrd, true},
    {"block", &UnikernelConfig::block, true},
    {"blkMntPoint", &UnikernelConfig::blk_mount_point, true},
    {"solo5NetDev", &UnikernelConfig::solo5_net_dev, true},
    {"solo5BlkDev", &UnikernelConfig::solo5_blk_dev, true},
    {"snapshotView", &UnikernelConfig::snapshot_view, false},
}};
constexpr std::string_view kMountRootfs = "mountRootfs";

std::string key(std::string_view name)
{
    return std::string(kAnnotationPrefix) + std::string(name);
}

Error bad(std::string_view name, const std::string &reason)
{
    return Error("annotation `" + key(name) + "`: " + reason);
}

// A value quoted for a one-line error message: control bytes escaped, long values cut.
std::string show(std::string_view v)
{
    std::string out = "`";
    for (unsigned char c : v.substr(0, 80)) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + (v.size() > 80 ? "...`" : "`");
}

bool parse_mount_rootfs(std::string_view value, UnikernelConfig &c, std::string_view origin)
{
    c.mount_rootfs = parse_go_bool(value);
    if (!c.mount_rootfs)
        throw Error(std::string(origin) + "`" + key(kMountRootfs) + "`: " + show(value) +
                    " is not a boolean (use true or false)");
    return true;
}

// urunc.json values: base64 when they decode to text, else plaintext (see the header).
std::string decode_json_value(std::string_view v)
{
    auto decoded = base64_decode(v);
    if (decoded && is_printable_text(*decoded))
        return *decoded;
    return std::string(v);
}

// ASCII only, independent of the locale (std::isalnum is not).
bool is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

// Solo5 manifest device names: ^[A-Za-z0-9]{1,67}$.
bool is_device_name(std::string_view v)
{
    return !v.empty() && v.size() <= 67 && std::all_of(v.begin(), v.end(), is_alnum);
}

void check_path(std::string_view name, const std::string &v, bool root_ok)
{
    if (v.size() > kMaxLen)
        throw bad(name, "longer than 4096 bytes");
    if (v.empty() || !std::all_of(v.begin(), v.end(), [](char ch) {
            return is_alnum(ch) || ch == '.' || ch == '_' || ch == '/' || ch == '-';
        }))
        throw bad(name, show(v) + " may only contain letters, digits, `.`, `_`, `/` and `-`");
    if (starts_with(v, ".."))
        throw bad(name, show(v) + " must not start with `..`");
    if (starts_with(v, "-"))
        throw bad(name, show(v) + " must not start with `-`");
    std::string clean = clean_path(v);
    if (clean != v)
        throw bad(name, show(v) + " is not a normalised path (use " + show(clean) + ")");
    if (v == "." || (v == "/" && !root_ok))
        throw bad(name, show(v) + " does not name a file");
}

}  // namespace

bool is_printable_text(std::string_view s)
{
    size_t i = 0;
    while (i < s.size()) {
        auto b = static_cast<unsigned char>(s[i]);
        uint32_t cp;
        size_t n;
        if (b < 0x80) {
            cp = b, n = 1;
        } else if ((b & 0xe0) == 0xc0) {
            cp = b & 0x1f, n = 2;
        } else if ((b & 0xf0) == 0xe0) {
            cp = b & 0x0f, n = 3;
        } else if ((b & 0xf8) == 0xf0) {
            cp = b & 0x07, n = 4;
        } else {
            return false;  // stray continuation byte or 0xf8..0xff
        }
        if (i + n > s.size())
            return false;
        for (size_t k = 1; k < n; ++k) {
            auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (c & 0x3f);
        }
        static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;  // overlong, out of range or a surrogate
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return false;  // C0, DEL, C1 controls
        i += n;
    }
    return true;
}

std::optional<bool> parse_go_bool(std::string_view s)
{
    if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True")
        return true;
    if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False")
        return false;
    return std::nullopt;
}

std::optional<UnikernelConfig>
config_from_annotations(const std::map<std::string, std::string> &annotations)
{
    UnikernelConfig c;
    bool any = false;
    // The prefix sorts contiguously in the map: visit only our keys.
    for (auto it = annotations.lower_bound(std::string(kAnnotationPrefix));
         it != annotations.end() && starts_with(it->first, kAnnotationPrefix); ++it) {
        std::string_view name = std::string_view(it->first).substr(kAnnotationPrefix.size());
        const std::string &value = it->second;
        if (value.empty())
            continue;  // an empty value means "not set" (shims may forward empty labels)
        if (name == kMountRootfs) {
            any = parse_mount_rootfs(value, c, "annotation ");
            continue;
        }
        auto k = std::find_if(kStringKeys.begin(), kStringKeys.end(),
                              [&](const StringKey &sk) { return sk.name == name; });
        if (k == kStringKeys.end()) {
            log::warn("ignoring unknown annotation `{}`", it->first);
            continue;
        }
        c.*(k->field) = value;
        any = true;
    }
    if (!any)
        return std::nullopt;
    return c;
}

UnikernelConfig config_from_urunc_json(std::string_view content)
{
    rapidjson::Document doc;
    // Iterative: the image controls the nesting depth, the recursive parser would overflow
    // the stack (found by tests/fuzz).
    // Validating UTF-8: raw bytes must not reach paths or the guest's command line.
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        content.data(), content.size());
    if (doc.HasParseError())
        throw Error(std::string("urunc.json: ") +
                    (doc.GetParseError() == rapidjson::kParseErrorStringInvalidEncoding
                         ? std::string("a string is not valid UTF-8")
                         : json_parse_error(doc.GetParseError())) +
                    " at offset " + std::to_string(doc.GetErrorOffset()));
    if (!doc.IsObject())
        throw Error("urunc.json: the document must be a JSON object");
    UnikernelConfig c;
    for (auto &m : doc.GetObject()) {
        std::string_view name(m.name.GetString(), m.name.GetStringLength());
        if (!starts_with(name, kAnnotationPrefix))
            continue;  // foreign keys: not ours
        name.remove_prefix(kAnnotationPrefix.size());
        if (!m.value.IsString())
            throw Error("urunc.json: `" + key(name) + "`: value must be a string");
        if (std::memchr(m.value.GetString(), '\0', m.value.GetStringLength()))
            throw Error("urunc.json: `" + key(name) + "`: the value contains a NUL byte");
        std::string value =
            decode_json_value(std::string_view(m.value.GetString(), m.value.GetStringLength()));
        if (value.empty())
            continue;
        if (name == kMountRootfs) {
            parse_mount_rootfs(value, c, "urunc.json: ");
            continue;
        }
        auto k = std::find_if(kStringKeys.begin(), kStringKeys.end(),
                              [&](const StringKey &sk) { return sk.name == name; });
        if (k == kStringKeys.end() || !k->from_json) {
            log::warn("urunc.json: ignoring key `{}`", key(name));
            continue;
        }
        c.*(k->field) = std::move(value);
    }
    return c;
}

bool complete(const UnikernelConfig &c)
{
    return !c.type.empty() && !c.hypervisor.empty() && !c.binary.empty();
}

UnikernelConfig merge(const UnikernelConfig &a, const UnikernelConfig &j)
{
    static const UnikernelConfig defaults;
    UnikernelConfig out = j;
    for (const auto &k : kStringKeys) {
        // A value set in the annotations wins. The struct cannot tell "set to the default"
        // from "unset" for solo5NetDev/solo5BlkDev; there the non-default value wins.
        if (!(a.*(k.field)).empty() && a.*(k.field) != defaults.*(k.field))
            out.*(k.field) = a.*(k.field);
    }
    out.snapshot_view = a.snapshot_view;
    if (a.mount_rootfs)
        out.mount_rootfs = a.mount_rootfs;
    return out;
}

std::optional<UnikernelConfig> resolve(const std::optional<UnikernelConfig> &from_annotations,
                                       const std::optional<std::string> &urunc_json)
{
    std::optional<UnikernelConfig> c;
    if (from_annotations && (complete(*from_annotations) || !urunc_json))
        c = from_annotations;
    else if (urunc_json && from_annotations)
        c = merge(*from_annotations, config_from_urunc_json(*urunc_json));
    else if (urunc_json)
        c = config_from_urunc_json(*urunc_json);
    if (c)
        validate(*c);
    return c;
}

void validate(const UnikernelConfig &c)
{
    if (c.type.empty())
        throw bad("unikernelType", "required but not set");
    if (c.hypervisor.empty())
        throw bad("hypervisor", "required but not set");
    if (c.binary.empty())
        throw bad("binary", "required but not set");

    check_path("binary", c.binary, false);
    if (!c.initrd.empty())
        check_path("initrd", c.initrd, false);
    if (!c.block.empty()) {
        check_path("block", c.block, false);
        if (c.blk_mount_point.empty())
            throw bad("blkMntPoint", "required when `" + key("block") + "` is set");
    }
    if (!c.blk_mount_point.empty())
        check_path("blkMntPoint", c.blk_mount_point, true);

    if (c.version.size() > kMaxLen)
        throw bad("unikernelVersion", "longer than 4096 bytes");
    if (!is_printable_text(c.version))
        throw bad("unikernelVersion", show(c.version) + " is not printable text");
    // The cmdline is split on blanks later; only NUL cannot travel through argv.
    if (c.cmdline.find('\0') != std::string::npos)
        throw bad("cmdline", "contains a NUL byte");

    if (!is_device_name(c.solo5_net_dev))
        throw bad("solo5NetDev", show(c.solo5_net_dev) + " must be 1-67 letters or digits");
    if (!is_device_name(c.solo5_blk_dev))
        throw bad("solo5BlkDev", show(c.solo5_blk_dev) + " must be 1-67 letters or digits");

    if (!c.snapshot_view.empty()) {
        // Only the shape here; mountpoint, read-only and prefix checks happen in rootfs.
        if (c.snapshot_view.front() != '/')
            throw bad("snapshotView", show(c.snapshot_view) + " must be an absolute path");
        if (c.snapshot_view.size() > kMaxLen)
            throw bad("snapshotView", "longer than 4096 bytes");
        if (c.snapshot_view.find_first_of(std::string_view("\0\n", 2)) != std::string::npos)
            throw bad("snapshotView", show(c.snapshot_view) + " contains a NUL or newline");
    }

    const auto *guest = unikernels::find_guest(c.type);
    if (!guest)
        throw bad("unikernelType", "unknown unikernel type " + show(c.type));
    if (!vmm::find_vmm(c.hypervisor))
        throw bad("hypervisor", "unknown hypervisor " + show(c.hypervisor));
    auto allowed = guest->monitors();
    if (std::find(allowed.begin(), allowed.end(), c.hypervisor) == allowed.end()) {
        std::vector<std::string> names(allowed.begin(), allowed.end());
        throw bad("hypervisor", show(c.hypervisor) + " cannot run unikernel type " + show(c.type) +
                                    " (supported: " + join(names, ", ") + ")");
    }
}

std::map<std::string, std::string> to_annotations(const UnikernelConfig &c)
{
    std::map<std::string, std::string> out;
    for (const auto &k : kStringKeys)
        if (!(c.*(k.field)).empty())
            out[key(k.name)] = c.*(k.field);
    if (c.mount_rootfs)
        out[key(kMountRootfs)] = *c.mount_rootfs ? "true" : "false";
    return out;
}

}  // namespace urunc::oci
