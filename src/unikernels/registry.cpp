#include "unikernels/guest.hpp"

namespace urunc::unikernels {

std::string_view to_string(RootfsKind k)
{
    switch (k) {
    case RootfsKind::none: return "none";
    case RootfsKind::block: return "block";
    case RootfsKind::initrd: return "initrd";
    case RootfsKind::ninep: return "9pfs";
    case RootfsKind::virtiofs: return "virtiofs";
    }
    return "none";
}

// Placeholder table until the guest files land.
static const Guest *const kGuests[] = {nullptr};

const Guest *find_guest(std::string_view name)
{
    for (const Guest *g : kGuests)
        if (g && g->name() == name)
            return g;
    return nullptr;
}

std::span<const Guest *const> all_guests() { return {kGuests, 0}; }

} // namespace urunc::unikernels
