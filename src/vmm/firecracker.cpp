// Firecracker.
//
// argv: <binary> --no-api --config-file /tmp/fc.json [--no-seccomp]
// The VM is described by a JSON file written into the monitor root (Command::files):
//   {"boot-source":{"kernel_image_path":K,"boot_args":CMD[,"initrd_path":I]},
//    "machine-config":{"vcpu_count":N,"mem_size_mib":M,"smt":false,"track_dirty_pages":false},
//    "drives":[{"drive_id":ID,"is_read_only":false,"is_root_device":ID=="rootfs","path_on_host":P}],
//    ["network-interfaces":[{"iface_id":"net1"[,"guest_mac":MAC],"host_dev_name":TAP}]]}
// Firecracker loads one initrd: the plan's, or else the guest's extra one (both -> error).
// The binary is static (no /lib in its root) and seccomp is its own default filter.
//
// Deliberate decisions (differences from upstream urunc):
// - No "vsock" object: upstream serialised a zeroed vsock device even with vAccel off; we
//   do not implement vAccel, so it is never emitted.
// - The Linux rootfs drive is `rootfs` and therefore the root device (see linux.cpp).
// - Memory is MiB (as upstream for this VMM).
#include "vmm/common.hpp"
#include "vmm/vmms.hpp"

#include "base/error.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace urunc::vmm {
namespace {

using unikernels::Guest;
using unikernels::GuestParams;

constexpr const char *kConfigPath = "/tmp/fc.json";

std::string config_json(const ExecPlan &plan, const unikernels::MonitorArgs &g,
                        const std::string &initrd)
{
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto str = [&](std::string_view s) {
        w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("boot-source");
    w.StartObject();
    w.Key("kernel_image_path");
    str(plan.kernel);
    w.Key("boot_args");
    str(plan.guest_cmdline);
    if (!initrd.empty()) {
        w.Key("initrd_path");
        str(initrd);
    }
    w.EndObject();
    w.Key("machine-config");
    w.StartObject();
    w.Key("vcpu_count");
    w.Uint(plan.vcpus > 0 ? plan.vcpus : 1);
    w.Key("mem_size_mib");
    w.Uint64(plan.memory_mib);
    w.Key("smt");
    w.Bool(false);
    w.Key("track_dirty_pages");
    w.Bool(false);
    w.EndObject();
    w.Key("drives");
    w.StartArray();
    for (const auto &b : g.blocks) {
        w.StartObject();
        w.Key("drive_id");
        str(b.id);
        w.Key("is_read_only");
        w.Bool(b.readonly);
        w.Key("is_root_device");
        w.Bool(b.id == "rootfs");
        w.Key("path_on_host");
        str(b.path);
        w.EndObject();
    }
    w.EndArray();
    if (const unikernels::Net *tap = plan_tap(plan)) {
        w.Key("network-interfaces");
        w.StartArray();
        w.StartObject();
        w.Key("iface_id");
        str("net1");
        if (!tap->mac.empty()) {
            w.Key("guest_mac");
            str(tap->mac);
        }
        w.Key("host_dev_name");
        str(tap->tap);
        w.EndObject();
        w.EndArray();
    }
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

class Firecracker final : public Vmm {
public:
    std::string_view name() const override { return "firecracker"; }
    std::string_view default_binary() const override { return "firecracker"; }
    bool needs_kvm() const override { return true; }
    bool uses_kvm() const override { return true; }
    bool supports_shared_fs(std::string_view) const override { return false; }
    // A drive's id is the disk serial the guest sees; urunit looks non-root drives up as
    // FC<id>.
    unikernels::MonitorTraits traits() const override
    {
        unikernels::MonitorTraits t;
        t.drive_id_prefix = "FC";
        return t;
    }
    bool wants_libs() const override { return false; }  // static binary

    Command build(const ExecPlan &plan, const Guest &guest,
                  const GuestParams &params) const override
    {
        check_request(*this, plan, guest, params);
        check_shared_fs(*this, plan);
        const unikernels::MonitorArgs g = guest.monitor_args(params);
        // The JSON has no place for argv words: a guest needing them cannot run here.
        if (!g.net.empty() || !g.other.empty())
            throw Error("firecracker: guest `" + std::string(guest.name()) +
                        "` needs monitor arguments that Firecracker's config cannot express");
        for (const auto &b : g.blocks)
            if (b.id.empty() || b.path.empty())
                throw Error("firecracker: guest `" + std::string(guest.name()) +
                            "` gave a disk without an id and a path");
        const std::string initrd = single_initrd("firecracker", plan, g);

        Command cmd;
        cmd.argv = {plan.binary, "--no-api", "--config-file", kConfigPath};
        if (!plan.seccomp)
            cmd.argv.emplace_back("--no-seccomp");
        cmd.files = g.files;
        cmd.files.emplace_back(kConfigPath, config_json(plan, g, initrd));
        return cmd;
    }
};

}  // namespace

const Vmm &firecracker_vmm()
{
    static const Firecracker v;
    return v;
}

}  // namespace urunc::vmm
