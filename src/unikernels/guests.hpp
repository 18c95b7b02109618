// One accessor per guest file; registry.cpp puts them in its table (internal header).
#pragma once

#include "unikernels/guest.hpp"

namespace urunc::unikernels {

const Guest &unikraft_guest();
const Guest &rumprun_guest();
const Guest &mirage_guest();
const Guest &mewz_guest();
const Guest &linux_guest();
const Guest &hermit_guest();

}  // namespace urunc::unikernels
