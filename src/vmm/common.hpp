// Checks and small helpers shared by the VMM files (internal to src/vmm/). Pure.
#pragma once

#include "vmm/vmm.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace urunc::vmm {

// Everything a VMM checks before building argv: the guest may run on this VMM, the guest
// parameters were made for it, memory is non-zero, and KVM is there when the VMM needs it.
// Throws Error with a one-line reason.
void check_request(const Vmm &vmm, const ExecPlan &plan, const unikernels::Guest &guest,
                   const unikernels::GuestParams &params);

// The host tap of the plan, else nullptr.
const unikernels::Net *plan_tap(const ExecPlan &plan);

// The one initrd to load: the plan's or the guest's extra one. Throws when both are set
// (none of our VMMs can load two, and dropping either would boot a broken guest).
std::string single_initrd(std::string_view vmm, const ExecPlan &plan,
                          const unikernels::MonitorArgs &guest);

// Throws "<vmm>: cannot share a filesystem with the guest (<fs>)" unless fs is empty or
// the VMM supports it.
void check_shared_fs(const Vmm &vmm, const ExecPlan &plan);

void append(std::vector<std::string> &out, const std::vector<std::string> &words);

}  // namespace urunc::vmm
