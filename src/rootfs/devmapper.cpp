#include "rootfs/devmapper.hpp"

#include "base/dynlib.hpp"
#include "base/error.hpp"
#include "base/file.hpp"
#include "base/log.hpp"
#include "base/strings.hpp"

#include <libdevmapper.h>
#include <sys/sysmacros.h>

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>

namespace urunc::rootfs {

namespace {

// A line "<number> device-mapper" in /proc/misc (dm-mod's control node) or in the block
// section of /proc/devices.
bool lists_device_mapper(const std::string &file)
{
    if (!path_exists(file))
        return false;
    for (const auto &line : split(read_file(file), '\n')) {
        auto words = split_ws(line);
        if (words.size() == 2 && words[1] == "device-mapper")
            return true;
    }
    return false;
}

void quiet_dm_log(int level, const char *file, int line, int dm_errno, const char *f, ...)
{
    (void)level;
    (void)dm_errno;
    if (!log::enabled(log::Level::debug))
        return;
    char buf[512];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    log::debug("libdevmapper {}:{}: {}", file, line, buf);
}

// libdevmapper's entry points, resolved on the first device-mapper query (see
// base/dynlib.hpp for why).
struct Libdevmapper {
    decltype(&dm_task_destroy) task_destroy;
    decltype(&dm_task_create) task_create;
    decltype(&dm_task_set_major_minor) task_set_major_minor;
    decltype(&dm_task_run) task_run;
    decltype(&dm_task_get_info) task_get_info;
    decltype(&dm_task_get_name) task_get_name;
    decltype(&dm_task_get_deps) task_get_deps;
    decltype(&dm_get_next_target) get_next_target;
    decltype(&dm_log_with_errno_init) log_with_errno_init;
};

const Libdevmapper &dm()
{
    static DynLib lib("libdevmapper.so.1.02.1");
    static const Libdevmapper m{
        URUNC_DYNSYM(lib, dm_task_destroy),         URUNC_DYNSYM(lib, dm_task_create),
        URUNC_DYNSYM(lib, dm_task_set_major_minor), URUNC_DYNSYM(lib, dm_task_run),
        URUNC_DYNSYM(lib, dm_task_get_info),        URUNC_DYNSYM(lib, dm_task_get_name),
        URUNC_DYNSYM(lib, dm_task_get_deps),        URUNC_DYNSYM(lib, dm_get_next_target),
        URUNC_DYNSYM(lib, dm_log_with_errno_init),
    };
    return m;
}

struct TaskDeleter {
    void operator()(dm_task *t) const { dm().task_destroy(t); }
};
using Task = std::unique_ptr<dm_task, TaskDeleter>;

Task run_task(int type, unsigned major, unsigned minor)
{
    std::string dev = std::to_string(major) + ":" + std::to_string(minor);
    Task t(dm().task_create(type));
    if (!t)
        throw Error("device-mapper: cannot create a task for " + dev, ENOMEM);
    if (!dm().task_set_major_minor(t.get(), static_cast<int>(major), static_cast<int>(minor), 0) ||
        !dm().task_run(t.get()))
        throw Error("device-mapper: cannot query device " + dev, ENXIO);
    struct dm_info info;
    if (!dm().task_get_info(t.get(), &info) || !info.exists)
        throw Error("device-mapper: device " + dev + " does not exist", ENODEV);
    return t;
}

void walk(unsigned major, unsigned minor, std::set<std::pair<unsigned, unsigned>> &seen,
          std::vector<DmDevice> &out)
{
    if (!seen.insert({major, minor}).second)
        return;
    DmDevice d;
    d.major = major;
    d.minor = minor;
    {
        Task t = run_task(DM_DEVICE_DEPS, major, minor);
        const char *name = dm().task_get_name(t.get());
        d.name = name ? name : "";
        if (auto *deps = dm().task_get_deps(t.get())) {
            for (uint32_t i = 0; i < deps->count; ++i)
                d.deps.emplace_back(::major(deps->device[i]), ::minor(deps->device[i]));
        }
    }
    {
        Task t = run_task(DM_DEVICE_TABLE, major, minor);
        void *next = nullptr;
        do {
            uint64_t start = 0, length = 0;
            char *type = nullptr, *params = nullptr;
            next = dm().get_next_target(t.get(), next, &start, &length, &type, &params);
            if (type)
                d.targets.emplace_back(type);
        } while (next);
    }
    auto deps = d.deps;
    out.push_back(std::move(d));
    for (auto [ma, mi] : deps) {
        // Only dm devices have a table to descend into; loops and disks are leaves.
        if (path_exists("/sys/dev/block/" + std::to_string(ma) + ":" + std::to_string(mi) + "/dm"))
            walk(ma, mi, seen, out);
    }
}

}  // namespace

bool kernel_has_device_mapper(const std::string &proc)
{
    auto probe = [&] {
        return lists_device_mapper(proc + "/misc") || lists_device_mapper(proc + "/devices");
    };
    if (proc != "/proc")
        return probe();
    static const bool has = probe();
    return has;
}

std::vector<DmDevice> dm_lineage(unsigned major, unsigned minor)
{
    if (!kernel_has_device_mapper())
        throw Error("device-mapper is not available in this kernel", ENODEV);
    static const bool quiet = (dm().log_with_errno_init(quiet_dm_log), true);
    (void)quiet;
    std::vector<DmDevice> out;
    std::set<std::pair<unsigned, unsigned>> seen;
    walk(major, minor, seen, out);
    return out;
}

}  // namespace urunc::rootfs
