// One accessor per VMM file; registry.cpp puts them in its table (internal header).
#pragma once

#include "vmm/vmm.hpp"

namespace urunc::vmm {

const Vmm &qemu_vmm();
const Vmm &firecracker_vmm();
const Vmm &hvt_vmm();
const Vmm &spt_vmm();
const Vmm &cloud_hypervisor_vmm();

}  // namespace urunc::vmm
