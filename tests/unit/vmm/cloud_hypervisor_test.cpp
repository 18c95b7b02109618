#include "vmm_test_util.hpp"

#include "base/error.hpp"

using namespace vmm_test;

TEST_CASE("cloud-hypervisor: argv", "[vmm][cloud-hypervisor]")
{
    FakeGuest g;
    ExecPlan plan = plan_for("cloud-hypervisor");
    CHECK(build_fake("cloud-hypervisor", g, plan).argv ==
          Argv{"/usr/bin/cloud-hypervisor", "--memory", "size=256M", "--cpus", "boot=1", "--kernel",
               "/unikernel/kernel", "--console", "off", "--serial", "tty", "--seccomp", "false",
               "--cmdline", "fake cmdline"});

    plan.seccomp = true;
    plan.vcpus = 2;
    plan.net = tap_net();
    plan.initrd = "/unikernel/initrd";
    g.args.blocks = {
        {"rootfs", "/dev/dm-3", {}}, {"", "", {"--disk", "path=/x"}}, {"noimg", "", {}}};
    g.args.other = {"--rng"};
    CHECK(build_fake("cloud-hypervisor", g, plan).argv ==
          Argv{"/usr/bin/cloud-hypervisor",
               "--memory",
               "size=256M",
               "--cpus",
               "boot=2",
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
               "path=/dev/dm-3,id=rootfs",
               "--disk",
               "path=/x",
               "--initramfs",
               "/unikernel/initrd",
               "--rng",
               "--cmdline",
               "fake cmdline"});

    g.args.net = {"--net", "tap=tap0_urunc,mtu=1400"};
    CHECK(has_seq(build_fake("cloud-hypervisor", g, plan).argv,
                  {"true", "--net", "tap=tap0_urunc,mtu=1400", "--disk"}));
}

TEST_CASE("cloud-hypervisor: deliberate - MiB memory and Linux disks",
          "[vmm][cloud-hypervisor][deviation]")
{
    GuestParams p;
    p.args = {"/sbin/init"};
    p.rootfs = RootfsKind::block;
    p.blocks = {{"rootfs", "/dev/dm-3", "/", "ext4"}, {"vol1", "/dev/dm-4", "/data", "ext4"}};
    ExecPlan plan = plan_for("cloud-hypervisor");
    plan.memory_mib = 512;
    const Argv a = build("cloud-hypervisor", "linux", p, plan).argv;
    CHECK(has_seq(a, {"--memory", "size=512M"}));  // upstream: size=536M
    CHECK(has_seq(a, {"--disk", "path=/dev/dm-3,id=rootfs", "--disk", "path=/dev/dm-4,id=vol1"}));
}

TEST_CASE("cloud-hypervisor: refusals and capabilities", "[vmm][cloud-hypervisor]")
{
    const Vmm &ch = vmm("cloud-hypervisor");
    CHECK(ch.needs_kvm());
    CHECK(ch.uses_kvm());
    CHECK_FALSE(ch.supports_shared_fs("virtiofs"));
    CHECK_FALSE(ch.supports_shared_fs("9p"));
    FakeGuest g;
    ExecPlan plan = plan_for("cloud-hypervisor");
    plan.shared_fs = "9p";
    CHECK_THROWS_WITH(build_fake("cloud-hypervisor", g, plan),
                      "cloud-hypervisor: cannot share a filesystem with the guest (9p)");
    plan.shared_fs.clear();
    plan.initrd = "/unikernel/initrd";
    g.args.extra_initrd = "/urunit.conf";
    CHECK_THROWS_AS(build_fake("cloud-hypervisor", g, plan), urunc::Error);
    plan.initrd.clear();
    CHECK(has_seq(build_fake("cloud-hypervisor", g, plan).argv, {"--initramfs", "/urunit.conf"}));
}
