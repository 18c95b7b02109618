// Pure helpers of the view shim: where containerd is, which namespace, the names of a
// shared view, and the annotation rewrite. No I/O except where a name says so.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urunc::shim {

inline constexpr std::string_view kViewAnnotation = "com.urunc.unikernel.snapshotView";
inline constexpr std::string_view kDefaultAddress = "/run/containerd/containerd.sock";

// containerd's gRPC socket, first found wins: the host config key; GRPC_ADDRESS (1.7+);
// the `-address` argument of the parent (the runc v2 shim); TTRPC_ADDRESS without its
// `.ttrpc` suffix (1.6's default ttrpc address); the default socket.
// `source` (when non-null) names which one was used, for the log.
std::string find_containerd_address(const std::string &config_key, const char *grpc_env,
                                    const std::vector<std::string> &parent_argv,
                                    const char *ttrpc_env, std::string *source = nullptr);

// NAMESPACE (1.7+), else the basename of --root (go-runc passes <runc root>/<namespace>).
// Empty when neither says.
std::string find_namespace(const char *ns_env, const std::string &root);

// NUL-separated argv as in /proc/<pid>/cmdline.
std::vector<std::string> split_cmdline(std::string_view raw);

// Lowercase hex SHA-256 of the parts joined by NUL bytes (so ("ab","c") != ("a","bc")).
std::string hash_parts(const std::vector<std::string> &parts);

// Names of the one view shared by every container of one committed snapshot.
struct ViewNames {
    std::string hash;   // 32 hex digits of hash(address, namespace, snapshotter, parent)
    std::string key;    // the view snapshot's key in containerd: urunc-view-<hash>
    std::string lease;  // the lease that protects it until it is pinned
    std::string
        label;  // container label that pins it: containerd.io/gc.ref.snapshot.<sn>/urunc-view
    std::string mountpoint;  // <views_dir>/<hash>
    std::string lock;        // <views_dir>/<hash>.lock
};
ViewNames view_names(const std::string &views_dir, const std::string &address,
                     const std::string &ns, const std::string &snapshotter,
                     const std::string &parent);

// The marker that says "the shim prepared this container": <views_dir>/containers/<hash>.
// Keyed by the runtime root (which holds the namespace) and the container id, both of which
// every later verb gets.
std::string marker_path(const std::string &views_dir, const std::string &root,
                        const std::string &id);

// The containerd list filter that finds the containers pinning a view.
std::string pin_filter(const ViewNames &v);

// config.json text with the snapshotView annotation set to `view` (or removed when `view`
// is nullopt), every other byte of meaning kept. Throws Error on malformed JSON.
std::string rewrite_view_annotation(const std::string &config_json,
                                    const std::optional<std::string> &view);

}  // namespace urunc::shim
