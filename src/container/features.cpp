// features and --version: fixed at build time, claiming only what urunc honours.
#include "container/lifecycle.hpp"

#include "base/file.hpp"
#include "container/commit.hpp"
#include "oci/capabilities.hpp"
#include "unikernels/guest.hpp"
#include "vmm/vmm.hpp"

#include <string>

namespace urunc::container {
using oci::known_capabilities;

namespace {
constexpr const char *kSpecVersion = "1.1.0";

std::string registry_list()
{
    std::string out;
    for (const auto *v : vmm::all_vmms())
        out += (out.empty() ? "" : ",") + std::string(v->name());
    std::string guests;
    for (const auto *g : unikernels::all_guests())
        guests += (guests.empty() ? "" : ",") + std::string(g->name());
    return "vmms: " + out + "\nguests: " + guests;
}
}  // namespace

std::string version_text()
{
    return std::string("urunc version ") + URUNC_VERSION + "\ncommit: " + URUNC_COMMIT +
           "\nspec: " + kSpecVersion + "\n" + registry_list() + "\n";
}

int features()
{
    std::string vmms, guests;
    for (const auto *v : vmm::all_vmms())
        vmms += std::string(vmms.empty() ? "" : ",") + v->name().data();
    for (const auto *g : unikernels::all_guests())
        guests += std::string(guests.empty() ? "" : ",") + g->name().data();
    std::string out = std::string(R"({
    "ociVersionMin": "1.0.0",
    "ociVersionMax": ")") +
                      kSpecVersion + R"(",
    "hooks": [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop"
    ],
    "mountOptions": [],
    "linux": {
        "namespaces": [
            "cgroup",
            "ipc",
            "mount",
            "network",
            "pid",
            "uts"
        ],
        "capabilities": CAPS,
        "cgroup": {
            "v1": true,
            "v2": true,
            "systemd": false,
            "systemdUser": false,
            "rdma": false
        },
        "seccomp": {
            "enabled": false
        },
        "apparmor": {
            "enabled": false
        },
        "selinux": {
            "enabled": false
        },
        "intelRdt": {
            "enabled": false
        },
        "mountExtensions": {
            "idmap": {
                "enabled": false
            }
        }
    },
    "annotations": {
        "io.urunc.version": ")" +
                      URUNC_VERSION + R"(",
        "io.urunc.commit": ")" +
                      URUNC_COMMIT + R"(",
        "io.urunc.vmms": ")" +
                      vmms + R"(",
        "io.urunc.guests": ")" +
                      guests + R"(",
        "io.urunc.unikernel.verbs": "create;run;start;state;list;ps;kill;delete;pause;resume;update --memory --memory-swap --memory-reservation --cpu-share --cpu-quota --cpu-period --cpuset-cpus --cpuset-mems --pids-limit --resources;events --stats --interval",
        "io.urunc.unikernel.unsupported": "exec,checkpoint,restore",
        "io.urunc.linux-containers": "every runc verb and flag, handed to runc",
        "org.opencontainers.runc.checkpoint.enabled": "false"
    },
    "potentiallyUnsafeConfigAnnotations": [
        "com.urunc.unikernel."
    ]
}
)";
    std::string caps = "[";
    for (const auto &c : known_capabilities())
        caps += std::string(caps.size() > 1 ? "," : "") + "\n            \"" + c + "\"";
    caps += "\n        ]";
    out.replace(out.find("CAPS"), 4, caps);
    write_all(1, out, "stdout");
    return 0;
}

}  // namespace urunc::container
