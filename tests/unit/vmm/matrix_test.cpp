// Golden argv, byte for byte, for every allowed guest x VMM pair (docs/configuration.md), built
// the way create does: guest command line first, then the VMM command. One realistic
// scenario per guest: network on a tap, seccomp on, the guest's usual rootfs.
#include "vmm_test_util.hpp"

#include <set>

using namespace vmm_test;

namespace {

struct Scenario {
    GuestParams params;
    ExecPlan plan;
};

Scenario scenario(std::string_view vmm_name, std::string_view guest_name)
{
    Scenario s;
    s.plan = plan_for(vmm_name);
    s.plan.net = tap_net();
    s.plan.seccomp = true;
    GuestParams &p = s.params;
    p.net = tap_net();
    if (guest_name == "rumprun") {
        p.args = {"redis-server", "/data/conf/redis.conf"};
        p.env = {"PATH=/bin"};
        p.rootfs = RootfsKind::block;
        p.blocks = {{"rootfs", "/dev/mapper/containerd-pool-snap-7", "/data", "ext2"}};
    } else if (guest_name == "mirage") {
        p.args = {"--hello=holaHola"};
        p.blocks = {{"annot_vol", "/data/block.img", "/data", ""}};
    } else if (guest_name == "mewz") {
        s.plan.memory_mib = 512;
    } else if (guest_name == "unikraft") {
        p.version = "0.16.1";
        p.args = {"/nginx", "-c", "/nginx/conf/nginx.conf"};
        p.env = {"PATH=/usr/bin"};
        p.rootfs = RootfsKind::initrd;
        s.plan.initrd = "/unikernel/initrd";
    } else if (guest_name == "linux") {
        p.args = {"/urunit", "/usr/sbin/nginx", "-g", "daemon off;"};
        p.env = {"PATH=/usr/bin", "URUNC=urunc"};
        p.gid = 17;
        p.cwd = "/test_dir";
        p.rootfs = RootfsKind::block;
        p.blocks = {{"rootfs", "/dev/mapper/containerd-pool-snap-9", "/", "ext4"},
                    {"vol3", "/dev/dm-5", "/mnt/data/mp", "ext4"}};
        s.plan.memory_mib = 512;
    } else if (guest_name == "hermit") {
        p.args = {"hello", "world"};
        p.rootfs = RootfsKind::initrd;
        s.plan.initrd = "/unikernel/initrd";
    }
    return s;
}

struct Golden {
    const char *vmm;
    const char *guest;
    Argv argv;
    std::vector<std::pair<std::string, std::string>> files;
};

const std::vector<Golden> &goldens()
{
    static const std::vector<Golden> table{
        {"qemu",
         "unikraft",
         {"/usr/bin/qemu-system-x86_64",
          "-m",
          "256M",
          "-L",
          "/usr/share/qemu",
          "-enable-kvm",
          "-cpu",
          "host",
          "-display",
          "none",
          "-vga",
          "none",
          "-serial",
          "stdio",
          "-monitor",
          "null",
          "-no-reboot",
          "-smp",
          "1",
          "--sandbox",
          "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
          "-kernel",
          "/unikernel/kernel",
          "-netdev",
          "tap,id=net0,script=no,downscript=no,ifname=tap0_urunc",
          "-device",
          "virtio-net-pci,netdev=net0,host_mtu=1500,mac=52:54:00:12:34:56",
          "-initrd",
          "/unikernel/initrd",
          "-append",
          R"(Unikraft  env.vars=[ PATH=/usr/bin ] netdev.ip=10.0.0.5/24:10.0.0.1:8.8.8.8   vfs.fstab=[ "initrd0:/:extract:::" ] -- /nginx -c /nginx/conf/nginx.conf)"},
         {}},
        {"qemu",
         "mirage",
         {"/usr/bin/qemu-system-x86_64",
          "-m",
          "256M",
          "-L",
          "/usr/share/qemu",
          "-enable-kvm",
          "-cpu",
          "host",
          "-display",
          "none",
          "-vga",
          "none",
          "-serial",
          "stdio",
          "-monitor",
          "null",
          "-no-reboot",
          "-smp",
          "1",
          "--sandbox",
          "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
          "-kernel",
          "/unikernel/kernel",
          "-netdev",
          "tap,id=net0,script=no,downscript=no,ifname=tap0_urunc",
          "-device",
          "virtio-net-pci,netdev=net0,host_mtu=1500,mac=52:54:00:12:34:56",
          "-append",
          "--ipv4=10.0.0.5/24 --ipv4-gateway=10.0.0.1 --hello=holaHola"},
         {}},
        {"qemu",
         "mewz",
         {"/usr/bin/qemu-system-x86_64",
          "-m",
          "512M",
          "-L",
          "/usr/share/qemu",
          "-enable-kvm",
          "-cpu",
          "host",
          "-display",
          "none",
          "-vga",
          "none",
          "-serial",
          "stdio",
          "-monitor",
          "null",
          "-no-reboot",
          "-smp",
          "1",
          "--sandbox",
          "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
          "-kernel",
          "/unikernel/kernel",
          "-device",
          "virtio-net-pci,netdev=net0,disable-legacy=on,disable-modern=off,mac=52:54:00:12:34:56",
          "-netdev",
          "tap,script=no,downscript=no,id=net0,ifname=tap0_urunc",
          "-device",
          "isa-debug-exit,iobase=0x501,iosize=2",
          "-append",
          "ip=10.0.0.5/24 gateway=10.0.0.1"},
         {}},
        {"qemu",
         "linux",
         {"/usr/bin/qemu-system-x86_64",
          "-m",
          "512M",
          "-L",
          "/usr/share/qemu",
          "-enable-kvm",
          "-cpu",
          "host",
          "-display",
          "none",
          "-vga",
          "none",
          "-serial",
          "stdio",
          "-monitor",
          "null",
          "-no-reboot",
          "-smp",
          "1",
          "--sandbox",
          "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
          "-kernel",
          "/unikernel/kernel",
          "-netdev",
          "tap,id=net0,script=no,downscript=no,ifname=tap0_urunc",
          "-device",
          "virtio-net-pci,netdev=net0,host_mtu=1500,mac=52:54:00:12:34:56",
          "-device",
          "virtio-blk-pci,serial=rootfs,drive=rootfs",
          "-drive",
          "format=raw,if=none,id=rootfs,file=/dev/mapper/containerd-pool-snap-9",
          "-device",
          "virtio-blk-pci,serial=vol3,drive=vol3",
          "-drive",
          "format=raw,if=none,id=vol3,file=/dev/dm-5",
          "-initrd",
          "/urunit.conf",
          "-nodefaults",
          "-append",
          "panic=-1 console=ttyS0 root=/dev/vda rw ip=10.0.0.5::10.0.0.1:255.255.255.0:urunc:eth0:off retain_initrd URUNIT_CONFIG=/sys/firmware/initrd init=/urunit -- /usr/sbin/nginx -g 'daemon off;'"},
         {{"/urunit.conf",
           "UES\nPATH=/usr/bin\nURUNC=urunc\nUEE\nUCS\nUID:0\nGID:17\nWD:/test_dir\nUCE\nUBS\nID:vol3\nMP:/mnt/data/mp\nUBE\n"}}},
        {"qemu",
         "hermit",
         {"/usr/bin/qemu-system-x86_64",
          "-m",
          "256M",
          "-L",
          "/usr/share/qemu",
          "-enable-kvm",
          "-cpu",
          "host",
          "-display",
          "none",
          "-vga",
          "none",
          "-serial",
          "stdio",
          "-monitor",
          "null",
          "-no-reboot",
          "-smp",
          "1",
          "--sandbox",
          "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
          "-kernel",
          "/unikernel/kernel",
          "-netdev",
          "tap,id=net0,ifname=tap0_urunc,script=no,downscript=no",
          "-device",
          "virtio-net-pci,netdev=net0,disable-legacy=on,mac=52:54:00:12:34:56",
          "-initrd",
          "/unikernel/initrd",
          "-append",
          "ip=10.0.0.5/24 gateway=10.0.0.1 -- hello world"},
         {}},
        {"firecracker",
         "unikraft",
         {"/usr/bin/firecracker", "--no-api", "--config-file", "/tmp/fc.json"},
         {{"/tmp/fc.json",
           R"({"boot-source":{"kernel_image_path":"/unikernel/kernel","boot_args":"Unikraft  env.vars=[ PATH=/usr/bin ] netdev.ip=10.0.0.5/24:10.0.0.1:8.8.8.8   vfs.fstab=[ \"initrd0:/:extract:::\" ] -- /nginx -c /nginx/conf/nginx.conf","initrd_path":"/unikernel/initrd"},"machine-config":{"vcpu_count":1,"mem_size_mib":256,"smt":false,"track_dirty_pages":false},"drives":[],"network-interfaces":[{"iface_id":"net1","guest_mac":"52:54:00:12:34:56","host_dev_name":"tap0_urunc"}]})"}}},
        {"firecracker", "linux", {"/usr/bin/firecracker", "--no-api", "--config-file", "/tmp/fc.json"}, {{"/urunit.conf", "UES\nPATH=/usr/bin\nURUNC=urunc\nUEE\nUCS\nUID:0\nGID:17\nWD:/test_dir\nUCE\nUBS\nID:FCvol3\nMP:/mnt/data/mp\nUBE\n"}, {"/tmp/fc.json", R"({"boot-source":{"kernel_image_path":"/unikernel/kernel","boot_args":"panic=-1 console=ttyS0 root=/dev/vda rw ip=10.0.0.5::10.0.0.1:255.255.255.0:urunc:eth0:off retain_initrd URUNIT_CONFIG=/sys/firmware/initrd init=/urunit -- /usr/sbin/nginx -g 'daemon off;'","initrd_path":"/urunit.conf"},"machine-config":{"vcpu_count":1,"mem_size_mib":512,"smt":false,"track_dirty_pages":false},"drives":[{"drive_id":"rootfs","is_read_only":false,"is_root_device":true,"path_on_host":"/dev/mapper/containerd-pool-snap-9"},{"drive_id":"FCvol3","is_read_only":false,"is_root_device":false,"path_on_host":"/dev/dm-5"}],"network-interfaces":[{"iface_id":"net1","guest_mac":"52:54:00:12:34:56","host_dev_name":"tap0_urunc"}]})"}}},
        {"hvt",
         "rumprun",
         {"/usr/bin/solo5-hvt", "--mem=256", "--net:tap=tap0_urunc", "--net-mac:tap=52:54:00:12:34:56", "--block:rootfs=/dev/mapper/containerd-pool-snap-7", "--", "/unikernel/kernel", R"({"cmdline":"redis-server /data/conf/redis.conf","env":"PATH=/bin","net":{"if":"ukvmif0","cloner":"True","type":"inet","method":"static","addr":"10.0.0.5","mask":"24","gw":"10.0.0.1"},"blk":{"source":"etfs","path":"/dev/ld0a","fstype":"blk","mountpoint":"/data"}})"},
         {}},
        {"hvt",
         "mirage",
         {"/usr/bin/solo5-hvt", "--mem=256", "--net:service=tap0_urunc",
          "--net-mac:service=52:54:00:12:34:56", "--block:storage=/data/block.img", "--",
          "/unikernel/kernel", "--ipv4=10.0.0.5/24 --ipv4-gateway=10.0.0.1 --hello=holaHola"},
         {}},
        {"spt",
         "rumprun",
         {"/usr/bin/solo5-spt", "--mem=256", "--net:tap=tap0_urunc",
          "--net-mac:tap=52:54:00:12:34:56", "--block:rootfs=/dev/mapper/containerd-pool-snap-7",
          "--", "/unikernel/kernel",
          R"({"cmdline":"redis-server /data/conf/redis.conf","env":"PATH=/bin","net":{"if":"ukvmif0","cloner":"True","type":"inet","method":"static","addr":"10.0.0.5","mask":"24","gw":"10.0.0.1"},"blk":{"source":"etfs","path":"/dev/ld0a","fstype":"blk","mountpoint":"/data"}})"},
         {}},
        {"spt",
         "mirage",
         {"/usr/bin/solo5-spt", "--mem=256", "--net:service=tap0_urunc",
          "--net-mac:service=52:54:00:12:34:56", "--block:storage=/data/block.img", "--",
          "/unikernel/kernel", "--ipv4=10.0.0.5/24 --ipv4-gateway=10.0.0.1 --hello=holaHola"},
         {}},
        {"cloud-hypervisor",
         "linux",
         {"/usr/bin/cloud-hypervisor",
          "--memory",
          "size=512M",
          "--cpus",
          "boot=1",
          "--kernel",
          "/unikernel/kernel",
          "--console",
          "off",
          "--serial",
          "tty",
          "--seccomp",
          "true",
          "--net",
          "tap=tap0_urunc,mac=52:54:00:12:34:56",
          "--disk",
          "path=/dev/mapper/containerd-pool-snap-9,id=rootfs",
          "--disk",
          "path=/dev/dm-5,id=vol3",
          "--initramfs",
          "/urunit.conf",
          "--cmdline",
          "panic=-1 console=ttyS0 root=/dev/vda rw ip=10.0.0.5::10.0.0.1:255.255.255.0:urunc:eth0:off retain_initrd URUNIT_CONFIG=/sys/firmware/initrd init=/urunit -- /usr/sbin/nginx -g 'daemon off;'"},
         {{"/urunit.conf",
           "UES\nPATH=/usr/bin\nURUNC=urunc\nUEE\nUCS\nUID:0\nGID:17\nWD:/test_dir\nUCE\nUBS\nID:vol3\nMP:/mnt/data/mp\nUBE\n"}}},
    };
    return table;
}

}  // namespace

TEST_CASE("matrix: golden argv for every allowed guest x VMM pair", "[vmm][matrix]")
{
    std::set<std::pair<std::string, std::string>> covered;
    for (const Golden &gd : goldens()) {
        INFO(gd.vmm << " x " << gd.guest);
        Scenario s = scenario(gd.vmm, gd.guest);
        const Command cmd = build(gd.vmm, gd.guest, s.params, s.plan);
        CHECK(cmd.argv == gd.argv);
        CHECK(cmd.files == gd.files);
        covered.emplace(gd.vmm, gd.guest);
    }
    // the table covers exactly the allowed pairs
    std::set<std::pair<std::string, std::string>> allowed;
    for (const Guest *g : all_guests())
        for (std::string_view m : g->monitors())
            allowed.emplace(std::string(m), std::string(g->name()));
    CHECK(covered == allowed);
    CHECK(allowed.size() == 12);
}

TEST_CASE("matrix: disallowed pairs are refused", "[vmm][matrix]")
{
    for (const Vmm *v : all_vmms()) {
        for (const Guest *g : all_guests()) {
            const auto mons = g->monitors();
            if (std::find(mons.begin(), mons.end(), v->name()) != mons.end())
                continue;
            INFO(v->name() << " x " << g->name());
            Scenario s = scenario(v->name(), g->name());
            s.params.monitor = std::string(v->name());
            CHECK_THROWS_WITH(v->build(s.plan, *g, s.params),
                              Catch::Contains("guest `" + std::string(g->name()) +
                                              "` cannot run on `" + std::string(v->name()) + "`"));
        }
    }
    // parameters built for another monitor are a caller bug, not a silent mismatch
    Scenario s = scenario("qemu", "linux");
    s.params.monitor = "firecracker";
    CHECK_THROWS_WITH(vmm("qemu").build(s.plan, guest("linux"), s.params),
                      "qemu: guest parameters were built for monitor `firecracker`");
}

TEST_CASE("vmm registry: names, binaries, KVM needs", "[vmm][registry]")
{
    std::set<std::string> names;
    for (const Vmm *v : all_vmms()) {
        names.emplace(v->name());
        CHECK(find_vmm(v->name()) == v);
    }
    CHECK(names == std::set<std::string>{"qemu", "firecracker", "hvt", "spt", "cloud-hypervisor"});
    CHECK(find_vmm("hedge") == nullptr);
    CHECK(vmm("qemu").default_binary() == "qemu-system-x86_64");
    CHECK(vmm("firecracker").default_binary() == "firecracker");
    CHECK(vmm("cloud-hypervisor").default_binary() == "cloud-hypervisor");
    // needs_kvm: refuse without /dev/kvm; uses_kvm: wants it when usable
    for (const char *name : {"firecracker", "hvt", "cloud-hypervisor"}) {
        CHECK(vmm(name).needs_kvm());
        CHECK(vmm(name).uses_kvm());
    }
    CHECK_FALSE(vmm("qemu").needs_kvm());
    CHECK(vmm("qemu").uses_kvm());
    CHECK_FALSE(vmm("spt").needs_kvm());
    CHECK_FALSE(vmm("spt").uses_kvm());
    for (const Vmm *v : all_vmms())
        CHECK(v->wants_libs() == (v->name() != "firecracker"));
}
