#include "vmm_test_util.hpp"

#include "base/error.hpp"

using namespace vmm_test;

TEST_CASE("qemu: reference golden vectors", "[vmm][qemu]")
{
    FakeGuest g;
    ExecPlan plan = plan_for("qemu");
    plan.kernel = "/rootfs/unikernel.bin";
    plan.vcpus = 0;
    plan.guest_cmdline = "init=/bin/sh root=/dev/vda console=ttyS0";
    const Argv a = build_fake("qemu", g, plan).argv;
    CHECK(a.front() == "/usr/bin/qemu-system-x86_64");
    CHECK(has_seq(a, {"-L", "/usr/share/qemu"}));
    CHECK(has_seq(a, {"-cpu", "host"}));
    CHECK(has(a, "-enable-kvm"));
    CHECK(has_seq(a, {"-display", "none"}));
    CHECK(has_seq(a, {"-vga", "none"}));
    CHECK(has_seq(a, {"-serial", "stdio"}));
    CHECK(has_seq(a, {"-monitor", "null"}));
    CHECK(has_seq(a, {"-m", "256M"}));
    CHECK(has_seq(a, {"-kernel", "/rootfs/unikernel.bin"}));
    CHECK(has_seq(a, {"-nic", "none"}));
    for (const char *absent : {"-smp", "--sandbox", "-initrd", "-fsdev"})
        CHECK_FALSE(has(a, absent));
    for (const char *absent : {"vhost-user-fs-pci", "virtio-blk-pci", "vhost-vsock-pci"})
        CHECK_FALSE(joined_has(a, absent));
    CHECK(a[a.size() - 2] == "-append");
    CHECK(a.back() == "init=/bin/sh root=/dev/vda console=ttyS0");

    plan.vcpus = 4;
    plan.memory_mib = 512;
    plan.net = tap_net();
    plan.net->tap = "tap0";
    g.args.blocks = {{"data0", "/disks/data0.img", {}}};
    const Argv b = build_fake("qemu", g, plan).argv;
    CHECK(has_seq(b, {"-smp", "4"}));
    CHECK(has_seq(b, {"-m", "512M"}));
    CHECK(has_seq(b, {"-netdev", "tap,id=net0,script=no,downscript=no,ifname=tap0", "-device",
                      "virtio-net-pci,netdev=net0,host_mtu=1500,mac=52:54:00:12:34:56"}));
    CHECK_FALSE(joined_has(b, "vhost=on"));
    CHECK(has_seq(b, {"-device", "virtio-blk-pci,serial=data0,drive=data0,scsi=off", "-drive",
                      "format=raw,if=none,id=data0,file=/disks/data0.img"}));
    plan.vhost = true;
    CHECK(joined_has(build_fake("qemu", g, plan).argv, "ifname=tap0,vhost=on -device"));
}

TEST_CASE("qemu: full argv, every optional part, in reference order", "[vmm][qemu]")
{
    FakeGuest g;
    g.args.blocks = {{"data0", "/d0.img", {}}, {"", "", {"-device", "x", "-drive", "y"}}};
    g.args.extra_initrd = "/urunit.conf";
    g.args.other = {"-nodefaults"};
    g.args.files = {{"/urunit.conf", "UES\n"}};
    ExecPlan plan = plan_for("qemu");
    plan.seccomp = true;
    plan.net = tap_net();
    plan.shared_fs = "9p";
    plan.shared_path = "/cntrRootfs";
    plan.data_dir = "/opt/qemu/share";
    const Command cmd = build_fake("qemu", g, plan);
    CHECK(cmd.argv ==
          Argv{"/usr/bin/qemu-system-x86_64",
               "-m",
               "256M",
               "-L",
               "/opt/qemu/share",
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
               "virtio-blk-pci,serial=data0,drive=data0,scsi=off",
               "-drive",
               "format=raw,if=none,id=data0,file=/d0.img",
               "-device",
               "x",
               "-drive",
               "y",
               "-fsdev",
               "local,id=rootfs9p,security_model=none,path=/cntrRootfs",
               "-device",
               "virtio-9p-pci,fsdev=rootfs9p,mount_tag=fs0",
               "-initrd",
               "/urunit.conf",
               "-nodefaults",
               "-append",
               "fake cmdline"});
    CHECK(cmd.files == g.args.files);
}

TEST_CASE("qemu: plan initrd, guest net override", "[vmm][qemu]")
{
    FakeGuest g;
    ExecPlan plan = plan_for("qemu");
    plan.memory_mib = 512;
    plan.initrd = "/unikernel/initrd";
    const Argv a = build_fake("qemu", g, plan).argv;
    CHECK(has_seq(a, {"-initrd", "/unikernel/initrd", "-append"}));

    g.args.net = {"-netdev", "guest-own"};
    plan.net = tap_net();
    const Argv b = build_fake("qemu", g, plan).argv;
    CHECK(has_seq(b, {"-kernel", "/unikernel/kernel", "-netdev", "guest-own", "-initrd"}));
    CHECK_FALSE(joined_has(b, "virtio-net-pci"));
    // guest net words apply only with a tap
    plan.net->tap.clear();
    CHECK(has_seq(build_fake("qemu", g, plan).argv, {"-nic", "none"}));
}

TEST_CASE("qemu: deliberate - MiB memory, TCG without KVM, always -no-reboot",
          "[vmm][qemu][deviation]")
{
    FakeGuest g;
    ExecPlan plan = plan_for("qemu");
    Argv a = build_fake("qemu", g, plan).argv;
    CHECK(has_seq(a, {"-m", "256M"}));  // upstream: 268M (bytes / 1e6)
    CHECK(has(a, "-no-reboot"));
    CHECK(has_seq(a, {"-enable-kvm", "-cpu", "host"}));
    CHECK_FALSE(has(a, "-accel"));

    plan.kvm = false;
    plan.memory_mib = 512;
    a = build_fake("qemu", g, plan).argv;
    CHECK(has_seq(a, {"-m", "512M"}));  // upstream: 536M for a 512 MiB limit
    CHECK(has_seq(a, {"-accel", "tcg", "-cpu", "max"}));
    CHECK_FALSE(has(a, "-enable-kvm"));
    CHECK_FALSE(has(a, "host"));
    CHECK(has(a, "-no-reboot"));
    CHECK(vmm("qemu").uses_kvm());
    CHECK_FALSE(vmm("qemu").needs_kvm());
}

TEST_CASE("qemu: optional net parameters and errors", "[vmm][qemu]")
{
    FakeGuest g;
    ExecPlan plan = plan_for("qemu");
    plan.net = tap_net();
    plan.net->mtu = 0;
    plan.net->mac = "";
    CHECK(has_seq(build_fake("qemu", g, plan).argv, {"-device", "virtio-net-pci,netdev=net0"}));

    plan.net.reset();
    plan.initrd = "/unikernel/initrd";
    g.args.extra_initrd = "/urunit.conf";
    CHECK_THROWS_WITH(build_fake("qemu", g, plan),
                      "qemu: the guest needs a second initrd `/urunit.conf` besides "
                      "`/unikernel/initrd`, but only one can be loaded");
    g.args.extra_initrd.clear();
    plan.shared_fs = "9p";
    CHECK_THROWS_WITH(build_fake("qemu", g, plan), "qemu: 9p shared filesystem without a path");
    plan.shared_fs = "nfs";
    CHECK_THROWS_WITH(build_fake("qemu", g, plan),
                      "qemu: cannot share a filesystem with the guest (nfs)");
    plan.shared_fs.clear();
    plan.memory_mib = 0;
    CHECK_THROWS_WITH(build_fake("qemu", g, plan), "qemu: guest memory must be at least 1 MiB");
    plan.memory_mib = 256;
    plan.shared_fs = "virtiofs";
    CHECK_THROWS_WITH(build_fake("qemu", g, plan),
                      "qemu: virtiofs shared filesystem without a virtiofsd socket");
    CHECK(vmm("qemu").supports_shared_fs("9p"));
    CHECK(vmm("qemu").supports_shared_fs("virtiofs"));
}

TEST_CASE("qemu: read-only disks and a read-only 9p share (root.readonly, ro volumes)",
          "[vmm][qemu]")
{
    FakeGuest g;
    ExecPlan plan = plan_for("qemu");
    g.args.blocks = {{"rootfs", "/dev/loop3", {}, true}, {"vol1", "/dev/loop4", {}, false}};
    plan.shared_fs = "9p";
    plan.shared_path = "/cntrRootfs";
    plan.shared_readonly = true;
    const Argv a = build_fake("qemu", g, plan).argv;
    CHECK(has(a, "format=raw,if=none,id=rootfs,file=/dev/loop3,readonly=on"));
    CHECK(has(a, "format=raw,if=none,id=vol1,file=/dev/loop4"));
    CHECK(has_seq(
        a, {"-fsdev", "local,id=rootfs9p,security_model=none,readonly=on,path=/cntrRootfs"}));
    plan.shared_readonly = false;
    CHECK(has_seq(build_fake("qemu", g, plan).argv,
                  {"-fsdev", "local,id=rootfs9p,security_model=none,path=/cntrRootfs"}));
}

TEST_CASE("read-only disks: firecracker and cloud-hypervisor say so, solo5 refuses", "[vmm]")
{
    FakeGuest g;
    g.args.blocks = {{"rootfs", "/dev/loop3", {}, true}};
    ExecPlan ch = plan_for("cloud-hypervisor");
    CHECK(has(build_fake("cloud-hypervisor", g, ch).argv, "path=/dev/loop3,id=rootfs,readonly=on"));
    ExecPlan fc = plan_for("firecracker");
    const Command c = build_fake("firecracker", g, fc);
    bool ro = false;
    for (const auto &[path, content] : c.files)
        ro = ro || content.find(R"("drive_id":"rootfs","is_read_only":true)") != std::string::npos;
    CHECK(ro);
    for (const char *solo5 : {"hvt", "spt"}) {
        ExecPlan p = plan_for(solo5);
        CHECK_THROWS_WITH(build_fake(solo5, g, p),
                          Catch::Contains("solo5 can only give a disk read-write"));
    }
}

TEST_CASE("qemu: linux guest with an initrd as early userspace and the 9p share as root",
          "[vmm][qemu]")
{
    GuestParams p;
    p.args = {"/app.sh", "x"};
    p.rootfs = RootfsKind::ninep;
    ExecPlan plan = plan_for("qemu");
    plan.initrd = "/.urunc/initrd";
    plan.shared_fs = "9p";
    plan.shared_path = "/cntrRootfs";
    const Argv a = build("qemu", "linux", p, plan).argv;
    CHECK(has_seq(a, {"-initrd", "/.urunc/initrd", "-fsdev",
                      "local,id=rootfs9p,security_model=none,path=/cntrRootfs", "-device",
                      "virtio-9p-pci,fsdev=rootfs9p,mount_tag=fs0", "-nodefaults", "-append",
                      "panic=-1 console=ttyS0 root=fs0 rw rootfstype=9p "
                      "rootflags=trans=virtio,version=9p2000.L,msize=5000000,cache=mmap,"
                      "posixacl init=/app.sh -- x"}));
    CHECK(std::count(a.begin(), a.end(), "-initrd") == 1);
    // urunit's config would be a second initrd: refused, not silently dropped.
    p.args = {"/sbin/urunit"};
    CHECK_THROWS_WITH(build("qemu", "linux", p, plan),
                      Catch::Contains("second initrd `/urunit.conf`"));
}

TEST_CASE("qemu: linux guest with an initrd and the virtiofs share as root", "[vmm][qemu]")
{
    GuestParams p;
    p.args = {"/app.sh", "x"};
    p.rootfs = RootfsKind::ninep;
    p.virtiofs_rootfs = true;
    p.readonly_rootfs = true;
    ExecPlan plan = plan_for("qemu");
    plan.memory_mib = 160;
    plan.initrd = "/.urunc/initrd";
    plan.shared_fs = "virtiofs";
    plan.shared_path = "/cntrRootfs";
    plan.shared_readonly = true;
    plan.virtiofs_socket = "/run/urunc-virtiofs.sock";
    const Argv a = build("qemu", "linux", p, plan).argv;
    CHECK(has_seq(a, {"-m", "160M"}));
    CHECK(has_seq(a, {"-initrd", "/.urunc/initrd", "-object",
                      "memory-backend-memfd,id=mem,size=160M,share=on", "-numa", "node,memdev=mem",
                      "-chardev", "socket,id=vfs,path=/run/urunc-virtiofs.sock", "-device",
                      "vhost-user-fs-pci,chardev=vfs,tag=fs0", "-nodefaults", "-append",
                      "panic=-1 console=ttyS0 root=fs0 ro rootfstype=virtiofs init=/app.sh -- x"}));
    CHECK(std::find(a.begin(), a.end(), "-fsdev") == a.end());
}
