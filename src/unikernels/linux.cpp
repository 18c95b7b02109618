// Linux guest (QEMU, Firecracker, Cloud Hypervisor).
//
// Command line, space-joined in this order: panic=-1; console (on aarch64 the VMM's
// MonitorTraits::aarch64_console, ttyAMA0 for QEMU; else ttyS0); root= by rootfs kind;
// ip=<IP>::<GW>:<MASK>:urunc:eth0:off; the environment (raw K=V words, or the urunit
// config pointer); URUNIT_DEFROUTE=1 when the address is outside the gateway's subnet;
// [rd]init=<app> -- <args>.
// Arguments are trimmed and those with blanks wrapped in single quotes: the kernel splits
// its command line on blanks, and urunit re-joins quoted words (its convention).
//
// urunit (the init path contains "urunit") gets env, uid/gid/cwd and the non-rootfs block
// mounts in a config blob instead of the command line:
//   UES\n<env lines>UEE\nUCS\nUID:<n>\nGID:<n>\nWD:<cwd>\nUCE\nUBS\n[ID:<id>\nMP:<mp>\n]UBE\n
// initrd rootfs: the blob goes *into* the rootfs initrd as /urunit.conf
// (MonitorArgs::initrd_files; the caller appends it to the cpio) and the guest reads it
// there. Any other rootfs: the blob is a file /urunit.conf in the monitor root
// (MonitorArgs::files) loaded as a second initrd (MonitorArgs::extra_initrd) that the
// kernel keeps at /sys/firmware/initrd (retain_initrd).
//
// Deliberate decisions (differences from upstream urunc):
// - Firecracker: the container rootfs drive keeps the id `rootfs` so the VMM flags it as
//   the root device (upstream prefixed every id with `FC`, so `FCrootfs` was never the
//   root device). Other drives keep the `FC` prefix that urunit expects (ID:FC<id>).
// - Cloud Hypervisor gets the guest's disks (id + path; upstream gave it none) and, with
//   urunit, the config blob as extra initrd (upstream pointed the kernel at a blob it never
//   passed).
// - An empty gateway never triggers URUNIT_DEFROUTE (no route to add).
// - QEMU: upstream's `-no-reboot` is not repeated; our QEMU always emits it.
//
// initrd + shared root: with mountRootfs on a rootfs that is no block device and an initrd
// annotation, the initrd is early userspace and the 9p share the root (guest_rootfs.cpp).
// The command line is the 9p one (root=fs0 ... rootfstype=9p rootflags=... init=<app>);
// the kernel runs the initrd's /init, which loads the modules, mounts the share as
// /proc/cmdline says and switch_roots to init= (tests/e2e/shared_root_initrd.sh). With a
// virtiofsd in the host config (GuestParams::virtiofs_rootfs) the share is virtiofs:
// root=fs0 rw|ro rootfstype=virtiofs. urunit
// cannot be that init yet: its config blob would be a second initrd, which QEMU refuses.
#include "unikernels/common.hpp"
#include "unikernels/guests.hpp"

#include "base/error.hpp"
#include "base/strings.hpp"

namespace urunc::unikernels {
namespace {

constexpr const char *kUrunitConf = "/urunit.conf";

struct Init {
    std::string app;
    std::string command;
};

Init parse_init(const std::vector<std::string> &args)
{
    if (args.empty())
        throw Error("linux: no init was specified (process.args is empty)");
    std::vector<std::string> words;
    for (const auto &a : args) {
        std::string w(trim(a));
        words.push_back(w.find(' ') != std::string::npos ? "'" + w + "'" : w);
    }
    Init init{words.front(), ""};
    words.erase(words.begin());
    init.command = join(words, " ");
    return init;
}

bool is_urunit(const Init &init) { return init.app.find("urunit") != std::string::npos; }

// The id a drive has in the guest; urunit looks volumes up by it (Firecracker: FC<id>).
std::string drive_id(const GuestParams &p, const Block &b)
{
    if (b.id != "rootfs")
        return p.vmm_traits.drive_id_prefix + b.id;
    return b.id;
}

std::string urunit_config(const GuestParams &p)
{
    std::string s = "UES\n";
    for (const auto &e : p.env)
        s += e + "\n";
    s += "UEE\nUCS\n";
    s += "UID:" + std::to_string(p.uid) + "\n";
    s += "GID:" + std::to_string(p.gid) + "\n";
    s += "WD:" + p.cwd + "\n";
    s += "UCE\nUBS\n";
    for (const auto &b : p.blocks) {
        if (b.id == "rootfs")
            continue;
        s += "ID:" + drive_id(p, b) + "\nMP:" + b.mountpoint + "\n";
    }
    return s + "UBE\n";
}

class Linux final : public Guest {
public:
    std::string_view name() const override { return "linux"; }
    std::vector<std::string_view> monitors() const override
    {
        return {"qemu", "firecracker", "cloud-hypervisor"};
    }
    bool supports_block() const override { return true; }
    bool supports_fs(std::string_view fs) const override
    {
        return fs == "ext2" || fs == "ext3" || fs == "ext4" || fs == "9pfs" || fs == "virtiofs";
    }
    // Debian's cloud kernel with a busybox initrd boots in 96 MiB and not in 64 (it
    // decompresses itself into RAM): a floor, not a guarantee for bigger initrds.
    uint64_t min_memory_mib() const override { return 96; }
    // A distro kernel has 9p/virtio as modules: the initrd loads them and switches root to
    // the share named by root=/rootfstype=/rootflags=, running init= (docs/design.md).
    bool initrd_mounts_shared_root() const override { return true; }

    std::string command_line(const GuestParams &p) const override
    {
        const Init init = parse_init(p.args);
        const bool urunit = is_urunit(init);
        std::vector<std::string> w{"panic=-1"};
        w.push_back("console=" + (p.arch == "aarch64" ? p.vmm_traits.aarch64_console : "ttyS0"));
        std::string rd;
        // root.readonly: the guest mounts its root `ro` too (the disk or share is read-only
        // at the VMM as well, so this only spares the guest a failing rw mount).
        const std::string rw = p.readonly_rootfs ? "ro" : "rw";
        switch (p.rootfs) {
        case RootfsKind::block: w.push_back("root=/dev/vda " + rw); break;
        case RootfsKind::initrd:
            w.push_back("root=/dev/ram0 rw");
            rd = "rd";
            break;
        case RootfsKind::ninep:
            if (p.virtiofs_rootfs)
                w.push_back("root=fs0 " + rw + " rootfstype=virtiofs");
            else
                w.push_back("root=fs0 " + rw +
                            " rootfstype=9p rootflags=trans=virtio,version=9p2000.L,"
                            "msize=5000000,cache=mmap,posixacl");
            break;
        case RootfsKind::none: break;
        }
        const Net *net = guest_net(p);
        if (net)
            w.push_back("ip=" + net->ip + "::" + net->gateway + ":" + net->mask +
                        ":urunc:eth0:off");
        if (!urunit)
            w.insert(w.end(), p.env.begin(), p.env.end());
        else if (p.rootfs == RootfsKind::initrd)
            w.push_back(std::string("URUNIT_CONFIG=") + kUrunitConf);
        else
            w.push_back("retain_initrd URUNIT_CONFIG=/sys/firmware/initrd");
        if (net && !net->gateway.empty() && !same_subnet(net->ip, net->gateway, net->mask))
            w.push_back("URUNIT_DEFROUTE=1");
        // Upstream always writes " -- " after the app, so an app without arguments leaves
        // a trailing blank; kept byte for byte (the kernel ignores it).
        w.push_back(rd + "init=" + init.app + " -- " + init.command);
        return join(w, " ");
    }

    MonitorArgs monitor_args(const GuestParams &p) const override
    {
        // Only QEMU, Firecracker and Cloud Hypervisor get here (monitors(): the VMM refuses
        // any other pairing before it asks).
        MonitorArgs m;
        for (const auto &b : p.blocks) {
            if (p.vmm_traits.qemu_argv)
                m.blocks.push_back(
                    {"",
                     "",
                     {"-device", "virtio-blk-pci,serial=" + b.id + ",drive=" + b.id, "-drive",
                      "format=raw,if=none,id=" + b.id + ",file=" + b.source +
                          (b.readonly ? ",readonly=on" : "")},
                     b.readonly});
            else
                m.blocks.push_back({drive_id(p, b), b.source, {}, b.readonly});
        }
        if (p.vmm_traits.has_nodefaults)
            m.other = {"-nodefaults"};
        if (!p.args.empty() && is_urunit(parse_init(p.args))) {
            if (p.rootfs == RootfsKind::initrd) {
                m.initrd_files.emplace_back(kUrunitConf, urunit_config(p));
            } else {
                m.files.emplace_back(kUrunitConf, urunit_config(p));
                m.extra_initrd = kUrunitConf;
            }
        }
        return m;
    }
};

}  // namespace

const Guest &linux_guest()
{
    static const Linux g;
    return g;
}

}  // namespace urunc::unikernels
