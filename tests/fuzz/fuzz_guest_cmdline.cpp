// Guest command lines and VMM argv built from bundle-controlled values (process.args,
// env, cwd, user, unikernelVersion, memory limit) for every guest and each of its VMMs.
// The builders are pure: they must throw Error or return an argv, never crash.
#include "fuzz_common.hpp"

#include "base/error.hpp"
#include "unikernels/guest.hpp"
#include "vmm/vmm.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace urunc;

namespace {

std::vector<std::string> strings(FuzzedDataProvider &fdp)
{
    std::vector<std::string> out(fdp.ConsumeIntegralInRange<size_t>(0, 6));
    for (auto &s : out)
        s = fdp.ConsumeRandomLengthString(64);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::quiet_log();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider fdp(data, size);
    auto guests = unikernels::all_guests();
    const unikernels::Guest &guest =
        *guests[fdp.ConsumeIntegralInRange<size_t>(0, guests.size() - 1)];
    auto monitors = guest.monitors();
    const vmm::Vmm *vmm =
        vmm::find_vmm(monitors[fdp.ConsumeIntegralInRange<size_t>(0, monitors.size() - 1)]);
    FUZZ_CHECK(vmm != nullptr);  // the guest registry names only registered VMMs

    unikernels::GuestParams p;
    p.monitor = std::string(vmm->name());
    p.vmm_traits = vmm->traits();
    p.arch = fdp.ConsumeBool() ? "x86_64" : "aarch64";
    p.args = strings(fdp);
    p.env = strings(fdp);
    p.version = fdp.ConsumeRandomLengthString(16);
    p.cwd = fdp.ConsumeRandomLengthString(32);
    p.uid = fdp.ConsumeIntegral<uint32_t>();
    p.gid = fdp.ConsumeIntegral<uint32_t>();
    p.rootfs = static_cast<unikernels::RootfsKind>(fdp.ConsumeIntegralInRange<int>(0, 3));
    // Network and disks come from the host (netlink, the snapshotter): plausible values.
    if (fdp.ConsumeBool())
        p.net =
            unikernels::Net{"tap0_urunc", "10.4.0.2",          "255.255.255.0",
                            "10.4.0.1",   "aa:bb:cc:dd:ee:ff", fdp.ConsumeBool() ? "8.8.8.8" : "",
                            1500};
    if (p.rootfs == unikernels::RootfsKind::block)
        p.blocks.push_back({"rootfs", "/dev/loop7", "/", "ext4"});
    if (fdp.ConsumeBool())
        p.blocks.push_back({"vol0", "/dev/loop8", "/data", "ext2"});

    vmm::ExecPlan plan;
    plan.binary = "/usr/bin/" + std::string(vmm->default_binary());
    plan.kernel = "/unikernel/kernel";
    plan.initrd = p.rootfs == unikernels::RootfsKind::initrd ? "/unikernel/initrd" : "";
    plan.memory_mib = fdp.ConsumeIntegralInRange<uint64_t>(1, uint64_t{1} << 43);
    plan.vcpus = fdp.ConsumeIntegralInRange<unsigned>(1, 1024);
    plan.kvm = fdp.ConsumeBool();
    plan.net = p.net;
    if (p.rootfs == unikernels::RootfsKind::ninep) {
        plan.shared_fs = "9p";
        plan.shared_path = "/rootfs";
    }
    try {
        guest.warnings(p);
        plan.guest_cmdline = guest.command_line(p);
        guest.monitor_args(p);
        vmm::Command cmd = vmm->build(plan, guest, p);
        FUZZ_CHECK(!cmd.argv.empty() && cmd.argv[0] == plan.binary);
        for (const auto &[path, content] : cmd.files)
            FUZZ_CHECK(!path.empty() && path[0] == '/');
    } catch (const Error &) {
    }
    return 0;
}
