// The unikernel configuration of a bundle: which guest, which monitor, which boot files.
// It comes from the spec annotations (plaintext), from `urunc.json` in the image (base64
// values, as image builders write them), or both (annotations win key by key).
// See docs/configuration.md for the user-facing rules.
#pragma once

#include "base/path.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace urunc::oci {

inline constexpr std::string_view kAnnotationPrefix = "com.urunc.unikernel.";

struct UnikernelConfig {
    std::string type;             // com.urunc.unikernel.unikernelType (required)
    std::string hypervisor;       // com.urunc.unikernel.hypervisor (required)
    std::string binary;           // com.urunc.unikernel.binary (required), path inside the rootfs
    std::string cmdline;          // com.urunc.unikernel.cmdline, used when process.args is empty
    std::string version;          // com.urunc.unikernel.unikernelVersion
    std::string initrd;           // com.urunc.unikernel.initrd
    std::string block;            // com.urunc.unikernel.block
    std::string blk_mount_point;  // com.urunc.unikernel.blkMntPoint
    std::optional<bool> mount_rootfs;       // com.urunc.unikernel.mountRootfs
    std::string solo5_net_dev = "service";  // com.urunc.unikernel.solo5NetDev
    std::string solo5_blk_dev = "storage";  // com.urunc.unikernel.solo5BlkDev
    std::string
        snapshot_view;  // com.urunc.unikernel.snapshotView: annotation only, never urunc.json

    bool operator==(const UnikernelConfig &) const = default;
};

// From the spec annotations (plaintext values). nullopt when no known com.urunc.unikernel.*
// key has a non-empty value (the caller then tries urunc.json, then hands the bundle to runc).
// The result may be incomplete (e.g. only snapshotView, with urunc.json inside the view): see
// complete(). Throws Error naming the key when a value cannot be parsed (mountRootfs).
// Unknown com.urunc.unikernel.* keys are ignored with a warning in the log.
std::optional<UnikernelConfig>
config_from_annotations(const std::map<std::string, std::string> &annotations);

// From urunc.json content: a JSON object whose keys are the annotation names. A value that
// is valid base64 decoding to printable UTF-8 text is decoded; any other value is taken as
// plaintext (upstream issue #983: plaintext "qemu" is valid base64 but decodes to non-text).
// snapshotView is never read from here. Throws Error "urunc.json: ..." on malformed JSON, a
// non-object document, non-string values or an unparseable mountRootfs.
UnikernelConfig config_from_urunc_json(std::string_view content);

// True when type, hypervisor and binary are all set: urunc.json need not be consulted.
bool complete(const UnikernelConfig &c);

// Annotations win key by key over urunc.json; snapshotView only ever from annotations.
UnikernelConfig merge(const UnikernelConfig &from_annotations, const UnikernelConfig &from_json);

// The whole precedence rule in one place. `urunc_json` is the file content (nullopt: no file).
//   no annotations, no file   -> nullopt (not a unikernel: hand to runc)
//   complete annotations      -> annotations alone (urunc.json is ignored, as upstream)
//   otherwise                 -> merge(annotations, urunc.json)
// The result is validated (throws Error naming the key).
std::optional<UnikernelConfig> resolve(const std::optional<UnikernelConfig> &from_annotations,
                                       const std::optional<std::string> &urunc_json);

// Validate every value; throws Error "annotation `com.urunc.unikernel.<key>`: <reason>".
// Value checks come first, the guest/monitor registry checks last.
void validate(const UnikernelConfig &c);

// Flat map for state.json annotations: non-empty fields only, keys com.urunc.unikernel.*.
// config_from_annotations(to_annotations(c)) gives c back.
std::map<std::string, std::string> to_annotations(const UnikernelConfig &c);

// Helpers shared with other validators.
// Lexical cleaning (base/path.hpp), the rule annotation paths must already satisfy.
using urunc::clean_path;
// Valid UTF-8 without control characters (C0, DEL, C1).
bool is_printable_text(std::string_view s);
// Go strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view s);

}  // namespace urunc::oci
