// The VMM table: one line per VMM. It also feeds `urunc features` / `--version`.
#include "vmm/vmm.hpp"
#include "vmm/vmms.hpp"

#include <array>

namespace urunc::vmm {
namespace {

const std::array<const Vmm *, 5> &table()
{
    static const std::array<const Vmm *, 5> vmms{
        &qemu_vmm(), &firecracker_vmm(), &hvt_vmm(), &spt_vmm(), &cloud_hypervisor_vmm(),
    };
    return vmms;
}

}  // namespace

const Vmm *find_vmm(std::string_view name)
{
    for (const Vmm *v : table())
        if (v->name() == name)
            return v;
    return nullptr;
}

std::span<const Vmm *const> all_vmms() { return {table().data(), table().size()}; }

}  // namespace urunc::vmm
