#include "vmm_test_util.hpp"

#include "base/error.hpp"
#include "base/fd.hpp"
#include "vmm/hvt_seccomp.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>

using namespace vmm_test;

TEST_CASE("solo5: upstream golden vectors for hvt and spt", "[vmm][solo5]")
{
    for (const char *tender : {"hvt", "spt"}) {
        INFO(tender);
        FakeGuest g;
        ExecPlan plan = plan_for(tender);
        plan.guest_cmdline.clear();
        GuestParams params;
        params.monitor = tender;
        Argv a = vmm(tender).build(plan, g, params).argv;  // empty guest command line
        CHECK(a == Argv{"/usr/bin/solo5-" + std::string(tender), "--mem=256", "--",
                        "/unikernel/kernel"});

        plan.memory_mib = 512;
        plan.guest_cmdline = R"({"cmdline":"nginx -c /etc/nginx.conf"})";
        plan.net = tap_net();
        g.args.net = {"--net:service=tap0"};
        g.args.blocks = {{"data0", "/disks/data0.img", {}}, {"empty", "", {}}};
        g.args.other = {"--block-sector-size:data0=512"};
        a = build_fake(tender, g, plan).argv;
        CHECK(a == Argv{"/usr/bin/solo5-" + std::string(tender), "--mem=512", "--net:service=tap0",
                        "--block:data0=/disks/data0.img", "--block-sector-size:data0=512", "--",
                        "/unikernel/kernel", R"({"cmdline":"nginx -c /etc/nginx.conf"})"});

        // a kernel path that looks like options stays one element after `--`
        plan.kernel = "/unikernel/app.bin --block:extra=/a/b --mem=1";
        a = build_fake(tender, g, plan).argv;
        auto sep = std::find(a.begin(), a.end(), "--");
        REQUIRE(sep + 1 < a.end());
        CHECK(*(sep + 1) == plan.kernel);

        // guest net words only with a tap
        plan.net.reset();
        CHECK_FALSE(has(build_fake(tender, g, plan).argv, "--net:service=tap0"));
    }
}

TEST_CASE("solo5: refusals and capabilities", "[vmm][solo5]")
{
    CHECK(vmm("hvt").needs_kvm());
    CHECK(vmm("hvt").uses_kvm());
    CHECK_FALSE(vmm("spt").needs_kvm());
    CHECK_FALSE(vmm("spt").uses_kvm());
    CHECK(vmm("hvt").default_binary() == "solo5-hvt");
    CHECK(vmm("spt").default_binary() == "solo5-spt");
    FakeGuest g;
    ExecPlan plan = plan_for("spt");
    plan.kvm = false;
    CHECK_NOTHROW(build_fake("spt", g, plan));
    CHECK_THROWS_WITH(build_fake("hvt", g, plan),
                      "hvt: needs KVM (/dev/kvm), which is not usable here");
    plan.kvm = true;
    plan.initrd = "/unikernel/initrd";
    CHECK_THROWS_WITH(build_fake("hvt", g, plan),
                      "hvt: Solo5 cannot load an initrd (`/unikernel/initrd`)");
    plan.initrd.clear();
    g.args.extra_initrd = "/urunit.conf";
    CHECK_THROWS_AS(build_fake("spt", g, plan), urunc::Error);
    g.args.extra_initrd.clear();
    plan.shared_fs = "9p";
    CHECK_THROWS_WITH(build_fake("spt", g, plan),
                      "spt: cannot share a filesystem with the guest (9p)");
}

TEST_CASE("solo5: deliberate - --mem is MiB", "[vmm][solo5][deviation]")
{
    FakeGuest g;
    ExecPlan plan = plan_for("hvt");
    CHECK(has(build_fake("hvt", g, plan).argv, "--mem=256"));  // upstream: --mem=268
    plan.memory_mib = 1024;
    CHECK(has(build_fake("spt", g, plan).argv, "--mem=1024"));
}

TEST_CASE("hvt seccomp: allow-list and filter construction", "[vmm][solo5][seccomp]")
{
    const auto x86 = hvt_allowed_syscalls(false);
    const auto arm = hvt_allowed_syscalls(true);
    CHECK(x86.size() == 43);
    CHECK(arm.size() == 40);
    for (const char *name :
         {"execve", "ioctl", "epoll_pwait", "exit_group", "getrandom", "arch_prctl"})
        CHECK(std::find(x86.begin(), x86.end(), name) != x86.end());
    CHECK(std::find(arm.begin(), arm.end(), "open") == arm.end());
    CHECK(std::find(x86.begin(), x86.end(), "getppid") == x86.end());

    SeccompFilter f = build_hvt_filter();
    REQUIRE(f.get() != nullptr);
    uint32_t attr = 0;
    REQUIRE(seccomp_attr_get(f.get(), SCMP_FLTATR_CTL_NNP, &attr) == 0);
    CHECK(attr == 1);
    REQUIRE(seccomp_attr_get(f.get(), SCMP_FLTATR_ACT_DEFAULT, &attr) == 0);
    CHECK(attr == SCMP_ACT_TRAP);

    urunc::UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    REQUIRE(devnull);
    CHECK(seccomp_export_pfc(f.get(), devnull.get()) == 0);

    std::unique_ptr<FILE, int (*)(FILE *)> tmp(std::tmpfile(), &std::fclose);
    REQUIRE(tmp);
    REQUIRE(seccomp_export_pfc(f.get(), fileno(tmp.get())) == 0);
    std::rewind(tmp.get());
    std::string pfc;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, tmp.get())) > 0;)
        pfc.append(buf, n);
    CHECK(pfc.find("action TRAP;") != std::string::npos);
    for (std::string_view name : x86) {
        INFO(name);
        CHECK(pfc.find("\"" + std::string(name) + "\"") != std::string::npos);
    }
    CHECK(pfc.find("\"getppid\"") == std::string::npos);
}

namespace {

// Run pre_exec in a child; return its wait status. The child reports through its exit
// code: 0 = a syscall outside the list still worked, 10 = pre_exec threw,
// 11 = /proc/self/status does not show filter + no_new_privs.
int run_pre_exec_child(bool seccomp)
{
    // everything that may fail a Catch assertion happens before the fork
    const Vmm &hvt = vmm("hvt");
    ExecPlan plan = plan_for("hvt");
    plan.seccomp = seccomp;
    pid_t pid = ::fork();
    if (pid == 0) {
        ::signal(SIGSYS, SIG_DFL);
        try {
            hvt.pre_exec(plan);
        } catch (...) {
            ::_exit(10);
        }
        if (seccomp) {
            char status[8192] = {};
            int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
            ssize_t n = fd >= 0 ? ::read(fd, status, sizeof status - 1) : -1;
            ::close(fd);
            if (n <= 0 || !std::strstr(status, "Seccomp:\t2") ||
                !std::strstr(status, "NoNewPrivs:\t1"))
                ::_exit(11);
        }
        ::syscall(SYS_getppid);  // not on the list: SIGSYS under the filter
        ::_exit(0);
    }
    REQUIRE(pid > 0);
    int wstatus = 0;
    REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
    return wstatus;
}

}  // namespace

TEST_CASE("hvt pre_exec: loads the filter only with plan.seccomp", "[vmm][solo5][seccomp]")
{
    int status = run_pre_exec_child(true);
    INFO("exit " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    CHECK(WIFSIGNALED(status));
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS));

    status = run_pre_exec_child(false);
    CHECK(WIFEXITED(status));
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));

    // spt sandboxes itself: nothing to install
    ExecPlan plan = plan_for("spt");
    plan.seccomp = true;
    CHECK_NOTHROW(vmm("spt").pre_exec(plan));
}
