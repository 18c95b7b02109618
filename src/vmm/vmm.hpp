// The VMM interface. VMMs are pure argv builders: no filesystem reads, no annotations.
// One file per VMM, registered in registry.cpp.
#pragma once

#include "unikernels/guest.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace urunc::vmm {

// Everything a VMM needs to build its argv. Paths are as the VMM sees them (inside the
// monitor root, which mirrors host paths for binaries and data).
struct ExecPlan {
    std::string binary;  // absolute path of the VMM binary
    std::string kernel;
    std::string initrd;         // empty: none
    uint64_t memory_mib = 256;  // MiB throughout (deliberate: upstream mixed decimal MB)
    unsigned vcpus = 1;
    bool kvm = true;               // false: TCG where the VMM can (qemu), else refused earlier
    bool seccomp = false;          // run the VMM under its own sandbox
    bool vhost = false;            // only true when /dev/vhost-net exists
    std::string data_dir;          // qemu -L (firmware), empty: /usr/share/qemu
    std::string shared_fs;         // "", "9p" or "virtiofs"
    std::string shared_path;       // path shared with the guest (inside the monitor root)
    bool shared_readonly = false;  // root.readonly: the share is read-only for the guest
    // virtiofs: virtiofsd's vhost-user socket (inside the monitor root); the init starts
    // virtiofsd on shared_path before the exec.
    std::string virtiofs_socket;
    std::string guest_cmdline;
    std::optional<unikernels::Net> net;
};

struct Command {
    std::vector<std::string> argv;  // argv[0] = binary
    // Files to create inside the monitor root before exec: {absolute path, content}.
    std::vector<std::pair<std::string, std::string>> files;
};

class Vmm {
public:
    virtual ~Vmm() = default;
    virtual std::string_view name() const = 0;  // registry name, e.g. "qemu"
    virtual std::string_view
    default_binary() const = 0;          // looked up in PATH, e.g. "qemu-system-x86_64"
    virtual bool needs_kvm() const = 0;  // true: refuse without usable /dev/kvm
    virtual bool uses_kvm() const = 0;   // true: wants /dev/kvm when usable
    virtual bool supports_shared_fs(std::string_view fs) const = 0;  // "9p", "virtiofs"
    // What a guest's command line and words depend on (GuestParams::vmm_traits).
    virtual unikernels::MonitorTraits traits() const = 0;
    virtual bool wants_libs() const { return true; }  // dynamic binary: /lib etc. in its root
    // Loads its accelerators as modules with dlopen (<libdir>/qemu/accel-*.so): they are in
    // no DT_NEEDED list, so they and their libraries must be added to its root by name.
    virtual bool dlopens_accel_modules() const { return false; }
    // Directories of firmware and option ROMs it reads (not libraries), as the plan names
    // them; the caller binds those that exist into its root.
    virtual std::vector<std::string> firmware_dirs(const ExecPlan &) const { return {}; }
    // Throws urunc::Error when the combination cannot be expressed.
    virtual Command build(const ExecPlan &plan, const unikernels::Guest &guest,
                          const unikernels::GuestParams &params) const = 0;
    // Syscall sandbox to install in the init process right before execve (solo5-hvt).
    virtual void pre_exec(const ExecPlan &) const {}
};

const Vmm *find_vmm(std::string_view name);
std::span<const Vmm *const> all_vmms();

}  // namespace urunc::vmm
