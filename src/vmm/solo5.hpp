// The argv grammar shared by the Solo5 tenders (hvt, spt):
//   <binary> --mem=<MiB> [guest net words] [--block:<id>=<path>...] [guest words]
//   -- <kernel> [<guest command line>]
// `--` ends the tender options, so a kernel path or command line that looks like an
// option stays an argument; the command line is one argv element (solo5 hands it to the
// guest as is). Solo5 loads no initrd and shares no filesystem: both are errors.
#pragma once

#include "vmm/vmm.hpp"

namespace urunc::vmm {

// Both tenders attach devices by manifest name.
unikernels::MonitorTraits solo5_traits();

Command solo5_command(const Vmm &tender, const ExecPlan &plan, const unikernels::Guest &guest,
                      const unikernels::GuestParams &params);

}  // namespace urunc::vmm
