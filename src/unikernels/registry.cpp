// The guest table: one line per guest type. It also feeds `urunc features` / `--version`.
#include "unikernels/guest.hpp"
#include "unikernels/guests.hpp"

#include <array>

namespace urunc::unikernels {

std::string_view to_string(RootfsKind k)
{
    switch (k) {
    case RootfsKind::none: return "none";
    case RootfsKind::block: return "block";
    case RootfsKind::initrd: return "initrd";
    case RootfsKind::ninep: return "9pfs";
    }
    return "none";
}

namespace {

const std::array<const Guest *, 6> &table()
{
    static const std::array<const Guest *, 6> guests{
        &unikraft_guest(), &rumprun_guest(), &mirage_guest(),
        &mewz_guest(),     &linux_guest(),   &hermit_guest(),
    };
    return guests;
}

}  // namespace

const Guest *find_guest(std::string_view name)
{
    for (const Guest *g : table())
        if (g->name() == name)
            return g;
    return nullptr;
}

std::span<const Guest *const> all_guests() { return {table().data(), table().size()}; }

}  // namespace urunc::unikernels
