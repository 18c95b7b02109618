// /proc/<pid>/mountinfo text -> MountInfo (libmount's parser plus our checks), and the
// lookups the snapshot view checks make on it.
#include "fuzz_common.hpp"

#include "base/error.hpp"
#include "rootfs/mountinfo.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace urunc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view text(reinterpret_cast<const char *>(data), size);
    std::string norm = rootfs::normalize_path(text);
    FUZZ_CHECK(!norm.empty() && norm[0] == '/');
    FUZZ_CHECK(rootfs::normalize_path(norm) == norm);

    rootfs::MountInfo mi;
    try {
        mi = rootfs::MountInfo::parse(text, "fuzz.mountinfo");
    } catch (const Error &) {
        return 0;
    }
    FUZZ_CHECK(!mi.entries().empty());
    for (const auto &e : mi.entries()) {
        // A mountpoint listed is found (perhaps under another mount stacked on it), and
        // what is found sits on that path.
        const auto *found = mi.find_mount(e.mountpoint);
        if (found)
            FUZZ_CHECK(found->mountpoint == rootfs::normalize_path(e.mountpoint));
        FUZZ_CHECK(mi.find_by_id(e.id) != nullptr);
        e.read_only();
        rootfs::has_option(e.options, "ro");
    }
    return 0;
}
