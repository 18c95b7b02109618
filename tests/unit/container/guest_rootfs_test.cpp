// The guest rootfs selection order (first match wins): initrd > block image at "/" >
// (mountRootfs) container rootfs as a block device > 9pfs > error; none without a request.
// Except: a Linux guest with an initrd and mountRootfs on a directory gets both (the initrd
// boots first, the 9p share is root).
#include "base/error.hpp"
#include "container/guest_rootfs.hpp"
#include "unikernels/guest.hpp"
#include "vmm/vmm.hpp"

#include "../rootfs/helpers.hpp"

#include "../privileged.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace urunc;
using namespace urunc::oci;
using namespace urunc::container;
using urunc::unikernels::RootfsKind;
namespace t = urunc::rootfs::test;

namespace {

struct Fixture {
    t::TempDir dir;
    std::string rootfs = dir / "rootfs";
    std::string state = dir / "state";
    rootfs::LazyMountInfo mounts;
    HostConfig host;
    Fixture()
    {
        ::mkdir(rootfs.c_str(), 0755);
        ::mkdir(state.c_str(), 0700);
        ::mkdir((rootfs + "/unikernel").c_str(), 0755);
        t::write_text(rootfs + "/unikernel/kernel", "kernel");
        t::write_text(rootfs + "/unikernel/initrd", "initrd");
        t::write_text(rootfs + "/disk.img", "disk");
    }
    Launch launch(const std::string &guest, const std::string &vmm, UnikernelConfig c) const
    {
        Launch l;
        l.spec.root_path = rootfs;
        c.type = guest;
        c.hypervisor = vmm;
        c.binary = "/unikernel/kernel";
        l.config = c;
        l.host = &host;
        l.guest = unikernels::find_guest(guest);
        l.vmm = vmm::find_vmm(vmm);
        REQUIRE(l.guest);
        REQUIRE(l.vmm);
        return l;
    }
};

}  // namespace

TEST_CASE("guest rootfs: initrd wins over everything else", "[guest_rootfs]")
{
    Fixture f;
    UnikernelConfig c;
    c.initrd = "/unikernel/initrd";
    c.block = "/disk.img";
    c.blk_mount_point = "/";
    c.mount_rootfs = true;
    Launch l = f.launch("linux", "qemu", c);
    choose_guest_rootfs(l, f.state, f.mounts);
    CHECK(l.params.rootfs == RootfsKind::initrd);
    CHECK(l.exec.initrd == "/.urunc/initrd");
    CHECK(l.exec.kernel == "/.urunc/kernel");
    CHECK(l.artifact_source == "rootfs " + f.rootfs);
    CHECK(l.unmounts.empty());
}

TEST_CASE("guest rootfs: a block image at / comes next, handed over read-write", "[guest_rootfs]")
{
    Fixture f;
    UnikernelConfig c;
    c.block = "/disk.img";
    c.blk_mount_point = "/";
    c.mount_rootfs = true;
    Launch l = f.launch("linux", "qemu", c);
    choose_guest_rootfs(l, f.state, f.mounts);
    CHECK(l.params.rootfs == RootfsKind::block);
    REQUIRE(l.params.blocks.size() == 1);
    CHECK(l.params.blocks[0].id == "rootfs");
    CHECK(l.params.blocks[0].source == "/.urunc/block");
    CHECK(std::count_if(l.file_binds.begin(), l.file_binds.end(),
                        [](const FileBind &b) { return b.writable; }) == 1);
}

TEST_CASE("guest rootfs: mountRootfs on a plain directory falls to 9pfs when guest and VMM share",
          "[guest_rootfs]")
{
    Fixture f;
    UnikernelConfig c;
    c.mount_rootfs = true;
    Launch l = f.launch("unikraft", "qemu", c);
    choose_guest_rootfs(l, f.state, f.mounts);
    CHECK(l.params.rootfs == RootfsKind::ninep);
    CHECK(l.exec.shared_fs == "9p");
    REQUIRE(l.shared_binds.size() == 1);
    CHECK(l.shared_binds[0].source == f.rootfs);
    CHECK(l.rootfs_choice.rfind("9pfs:", 0) == 0);
}

TEST_CASE("guest rootfs: mountRootfs that no way can satisfy is an error naming why",
          "[guest_rootfs]")
{
    Fixture f;
    UnikernelConfig c;
    c.mount_rootfs = true;
    Launch l = f.launch("mewz", "qemu", c);
    std::string err = t::error_of([&] { choose_guest_rootfs(l, f.state, f.mounts); });
    CHECK(err.find("annotation `com.urunc.unikernel.mountRootfs`") == 0);
    CHECK(err.find("neither as a block device") != std::string::npos);
}

TEST_CASE("guest rootfs: nothing requested is none", "[guest_rootfs]")
{
    Fixture f;
    Launch l = f.launch("unikraft", "qemu", UnikernelConfig{});
    choose_guest_rootfs(l, f.state, f.mounts);
    CHECK(l.params.rootfs == RootfsKind::none);
    CHECK(l.params.blocks.empty());
}

TEST_CASE(
    "guest rootfs: a rootfs that is a block device goes to the guest; artifacts copied without a view",
    "[guest_rootfs][privileged]")
{
    REQUIRE_PRIVILEGED("loop devices, mounts");
    t::enter_private_mount_ns();
    Fixture f;
    t::LoopDevice loop(f.dir / "rootfs.img", 16);
    t::ScopedMount m(loop.path(), f.rootfs, "ext4", 0);
    ::mkdir((f.rootfs + "/unikernel").c_str(), 0755);
    t::write_text(f.rootfs + "/unikernel/kernel", "kernel");
    UnikernelConfig c;
    c.mount_rootfs = true;
    Launch l = f.launch("linux", "qemu", c);
    choose_guest_rootfs(l, f.state, f.mounts);
    CHECK(l.params.rootfs == RootfsKind::block);
    REQUIRE(l.params.blocks.size() == 1);
    CHECK(l.params.blocks[0].source == loop.path());
    CHECK(l.params.blocks[0].fstype == "ext4");
    REQUIRE(l.unmounts.size() == 1);
    CHECK(l.unmounts[0].path == f.rootfs);
    CHECK(l.copy_dir == f.state + "/artifacts");
    CHECK(l.artifact_source == "copy " + f.state + "/artifacts");
}

TEST_CASE("guest rootfs: linux, initrd and mountRootfs on a directory: initrd boots, 9p is root",
          "[guest_rootfs]")
{
    Fixture f;
    UnikernelConfig c;
    c.initrd = "/unikernel/initrd";
    c.mount_rootfs = true;
    Launch l = f.launch("linux", "qemu", c);
    choose_guest_rootfs(l, f.state, f.mounts);
    CHECK(l.params.rootfs == RootfsKind::ninep);
    CHECK(l.exec.initrd == "/.urunc/initrd");  // early userspace
    CHECK(l.exec.shared_fs == "9p");
    CHECK(l.exec.shared_path == "/cntrRootfs");
    REQUIRE(l.shared_binds.size() == 1);
    CHECK(l.shared_binds[0].source == f.rootfs);
    CHECK(l.unmounts.empty());
    CHECK(l.rootfs_choice.rfind("9pfs: the container rootfs is shared with the guest as its root, "
                                "the initrd annotation's initrd boots first",
                                0) == 0);
}

TEST_CASE("guest rootfs: with a virtiofsd in the host config, linux on qemu shares over virtiofs",
          "[guest_rootfs]")
{
    Fixture f;
    f.host.extra_binaries.virtiofsd = "/usr/lib/qemu/virtiofsd";
    UnikernelConfig c;
    c.initrd = "/unikernel/initrd";
    c.mount_rootfs = true;
    Launch l = f.launch("linux", "qemu", c);
    choose_guest_rootfs(l, f.state, f.mounts);
    CHECK(l.params.rootfs == RootfsKind::ninep);
    CHECK(l.params.virtiofs_rootfs);
    CHECK(l.exec.shared_fs == "virtiofs");
    CHECK(l.exec.shared_path == "/cntrRootfs");
    CHECK(l.exec.virtiofs_socket == "/run/urunc-virtiofs.sock");
    REQUIRE(l.shared_binds.size() == 1);
    CHECK(l.shared_binds[0].source == f.rootfs);
    CHECK(l.rootfs_choice.rfind("virtiofs: the container rootfs is shared with the guest as its "
                                "root, the initrd annotation's initrd boots first",
                                0) == 0);
    CHECK(l.rootfs_choice.ends_with(" by virtiofsd `/usr/lib/qemu/virtiofsd`"));

    // A guest that takes no virtiofs keeps 9p, opt-in or not.
    UnikernelConfig u;
    u.mount_rootfs = true;
    Launch k = f.launch("unikraft", "qemu", u);
    choose_guest_rootfs(k, f.state, f.mounts);
    CHECK(k.exec.shared_fs == "9p");
    CHECK_FALSE(k.params.virtiofs_rootfs);
    CHECK(k.exec.virtiofs_socket.empty());
    CHECK(k.rootfs_choice.rfind("9pfs:", 0) == 0);
}

TEST_CASE("guest rootfs: initrd and mountRootfs stay an initrd rootfs where nothing can be shared",
          "[guest_rootfs]")
{
    Fixture f;
    UnikernelConfig c;
    c.initrd = "/unikernel/initrd";
    c.mount_rootfs = true;
    // Firecracker shares no filesystem; unikraft's initrd is its whole rootfs.
    for (auto [guest, vmm] : {std::pair{"linux", "firecracker"}, std::pair{"unikraft", "qemu"}}) {
        Launch l = f.launch(guest, vmm, c);
        choose_guest_rootfs(l, f.state, f.mounts);
        CHECK(l.params.rootfs == RootfsKind::initrd);
        CHECK(l.exec.shared_fs.empty());
        CHECK(l.shared_binds.empty());
        CHECK(l.rootfs_choice == "initrd: the initrd annotation is set");
    }
}
