#include "vmm_test_util.hpp"

#include "base/error.hpp"

using namespace vmm_test;

namespace {

const std::string &config_of(const Command &cmd)
{
    REQUIRE_FALSE(cmd.files.empty());
    REQUIRE(cmd.files.back().first == "/tmp/fc.json");
    return cmd.files.back().second;
}

}  // namespace

TEST_CASE("firecracker: argv and JSON config", "[vmm][firecracker]")
{
    FakeGuest g;
    ExecPlan plan = plan_for("firecracker");
    plan.seccomp = true;
    Command cmd = build_fake("firecracker", g, plan);
    CHECK(cmd.argv == Argv{"/usr/bin/firecracker", "--no-api", "--config-file", "/tmp/fc.json"});
    CHECK(
        config_of(cmd) ==
        R"({"boot-source":{"kernel_image_path":"/unikernel/kernel","boot_args":"fake cmdline"},)"
        R"("machine-config":{"vcpu_count":1,"mem_size_mib":256,"smt":false,"track_dirty_pages":false},)"
        R"("drives":[]})");

    plan.seccomp = false;
    plan.vcpus = 2;
    plan.memory_mib = 512;
    plan.initrd = "/unikernel/initrd";
    plan.net = tap_net();
    plan.guest_cmdline = "a \"quoted\" line";
    g.args.blocks = {{"rootfs", "/dev/dm-3", {}}, {"FCdata", "/d", {}}};
    cmd = build_fake("firecracker", g, plan);
    CHECK(cmd.argv == Argv{"/usr/bin/firecracker", "--no-api", "--config-file", "/tmp/fc.json",
                           "--no-seccomp"});
    CHECK(
        config_of(cmd) ==
        R"({"boot-source":{"kernel_image_path":"/unikernel/kernel","boot_args":"a \"quoted\" line",)"
        R"("initrd_path":"/unikernel/initrd"},)"
        R"("machine-config":{"vcpu_count":2,"mem_size_mib":512,"smt":false,"track_dirty_pages":false},)"
        R"("drives":[{"drive_id":"rootfs","is_read_only":false,"is_root_device":true,"path_on_host":"/dev/dm-3"},)"
        R"({"drive_id":"FCdata","is_read_only":false,"is_root_device":false,"path_on_host":"/d"}],)"
        R"("network-interfaces":[{"iface_id":"net1","guest_mac":"52:54:00:12:34:56","host_dev_name":"tap0_urunc"}]})");
}

TEST_CASE("firecracker: deliberate - no vsock, Linux rootfs is the root device",
          "[vmm][firecracker][deviation]")
{
    GuestParams p;
    p.args = {"/sbin/init"};
    p.rootfs = RootfsKind::block;
    p.blocks = {{"rootfs", "/dev/dm-3", "/", "ext4"}, {"vol2", "/dev/dm-4", "/data", "ext4"}};
    p.net = tap_net();
    ExecPlan plan = plan_for("firecracker");
    plan.net = tap_net();
    const std::string json = config_of(build("firecracker", "linux", p, plan));
    CHECK(json.find("vsock") == std::string::npos);
    CHECK(json.find(R"({"drive_id":"rootfs","is_read_only":false,"is_root_device":true,)") !=
          std::string::npos);
    CHECK(json.find(R"({"drive_id":"FCvol2","is_read_only":false,"is_root_device":false,)") !=
          std::string::npos);
    CHECK(json.find("FCrootfs") == std::string::npos);
}

TEST_CASE("firecracker: one initrd, the guest's extra one when the plan has none",
          "[vmm][firecracker]")
{
    FakeGuest g;
    g.args.extra_initrd = "/urunit.conf";
    g.args.files = {{"/urunit.conf", "UES\n"}};
    ExecPlan plan = plan_for("firecracker");
    Command cmd = build_fake("firecracker", g, plan);
    CHECK(config_of(cmd).find(R"("initrd_path":"/urunit.conf")") != std::string::npos);
    REQUIRE(cmd.files.size() == 2);
    CHECK(cmd.files[0] == g.args.files[0]);
    plan.initrd = "/unikernel/initrd";
    CHECK_THROWS_AS(build_fake("firecracker", g, plan), urunc::Error);
}

TEST_CASE("firecracker: refusals and capabilities", "[vmm][firecracker]")
{
    const Vmm &fc = vmm("firecracker");
    CHECK(fc.needs_kvm());
    CHECK(fc.uses_kvm());
    CHECK_FALSE(fc.wants_libs());
    CHECK_FALSE(fc.supports_shared_fs("9p"));
    CHECK_FALSE(fc.supports_shared_fs("virtiofs"));
    FakeGuest g;
    ExecPlan plan = plan_for("firecracker");
    plan.kvm = false;
    CHECK_THROWS_WITH(build_fake("firecracker", g, plan),
                      "firecracker: needs KVM (/dev/kvm), which is not usable here");
    plan.kvm = true;
    plan.shared_fs = "9p";
    CHECK_THROWS_WITH(build_fake("firecracker", g, plan),
                      "firecracker: cannot share a filesystem with the guest (9p)");
    plan.shared_fs.clear();
    g.args.other = {"-x"};
    CHECK_THROWS_AS(build_fake("firecracker", g, plan), urunc::Error);
    g.args.other.clear();
    g.args.blocks = {{"", "", {"-drive", "x"}}};
    CHECK_THROWS_AS(build_fake("firecracker", g, plan), urunc::Error);
}
