// Pure parts of the confinement: device rules (cgroup v1 lines, the v2 eBPF program, which
// the kernel's verifier must accept and which, attached to a real cgroup2 directory, must
// refuse opens and mknods), the rlimit table, the sysctl namespace rule, the spec
// fields, the loader's --list parsing and PT_INTERP.
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"
#include "linux/device_rules.hpp"
#include "linux/process_limits.hpp"
#include "oci/spec.hpp"
#include "rootfs/elf_libs.hpp"

#include "../privileged.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace urunc;
using namespace urunc::oci;
using namespace urunc::linux;

namespace {

DeviceRule rule(bool allow, char type, int64_t major, int64_t minor, const char *access)
{
    return DeviceRule{allow, type, major, minor, access};
}

// Docker's default list, shortened: deny all, a few nodes, mknod of anything.
std::vector<DeviceRule> docker_rules()
{
    return {rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 3, "rwm"),
            rule(true, 'c', 1, 9, "rwm"),    rule(false, 'c', 10, 229, "rwm"),
            rule(true, 'c', -1, -1, "m"),    rule(true, 'b', -1, -1, "m")};
}

// A tiny interpreter of the program we emit (only the instructions we use), to check the
// verdicts without a kernel.
int run_program(const std::vector<bpf_insn> &p, uint32_t type, uint32_t access, uint32_t major,
                uint32_t minor)
{
    uint64_t r[11] = {};
    uint32_t ctx[3] = {type | (access << 16), major, minor};
    for (size_t pc = 0; pc < p.size(); ++pc) {
        const bpf_insn &i = p[pc];
        uint8_t cls = BPF_CLASS(i.code);
        if (cls == BPF_LDX) {
            r[i.dst_reg] = ctx[i.off / 4];
        } else if (cls == BPF_ALU64 && BPF_OP(i.code) == BPF_MOV) {
            r[i.dst_reg] = BPF_SRC(i.code) == BPF_X ? r[i.src_reg] : static_cast<uint64_t>(i.imm);
        } else if (cls == BPF_ALU && BPF_OP(i.code) == BPF_AND) {
            r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg]) & static_cast<uint32_t>(i.imm);
        } else if (cls == BPF_ALU && BPF_OP(i.code) == BPF_RSH) {
            r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg]) >> i.imm;
        } else if (cls == BPF_JMP && BPF_OP(i.code) == BPF_EXIT) {
            return static_cast<int>(r[0]);
        } else if (cls == BPF_JMP && BPF_OP(i.code) == BPF_JNE) {
            if (r[i.dst_reg] != static_cast<uint64_t>(static_cast<uint32_t>(i.imm)))
                pc += i.off;
        } else if (cls == BPF_JMP && BPF_OP(i.code) == BPF_JEQ) {
            if (r[i.dst_reg] == static_cast<uint64_t>(static_cast<uint32_t>(i.imm)))
                pc += i.off;
        } else {
            FAIL("unexpected instruction " << int(i.code));
        }
    }
    FAIL("fell off the program");
    return -1;
}

constexpr uint32_t B = BPF_DEVCG_DEV_BLOCK, C = BPF_DEVCG_DEV_CHAR;
constexpr uint32_t M = BPF_DEVCG_ACC_MKNOD, R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE;

}  // namespace

TEST_CASE("device rules: cgroup v1 lines, in order after the last deny-all", "[oci][devices]")
{
    auto w = v1_device_writes(docker_rules());
    REQUIRE(w.size() == 6);
    CHECK(std::string(w[0].file) == "devices.deny");
    CHECK(w[0].line == "a");
    CHECK(std::string(w[1].file) == "devices.allow");
    CHECK(w[1].line == "c 1:3 rwm");
    CHECK(std::string(w[3].file) == "devices.deny");
    CHECK(w[3].line == "c 10:229 rwm");
    CHECK(w[4].line == "c *:* m");
    CHECK(w[5].line == "b *:* m");
    // Rules before a later "all" rule are forgotten (v1 resets its list).
    auto w2 = v1_device_writes({rule(true, 'c', 1, 3, "rwm"), rule(true, 'a', -1, -1, "rwm")});
    REQUIRE(w2.size() == 1);
    CHECK(std::string(w2[0].file) == "devices.allow");
    CHECK(w2[0].line == "a");
    CHECK(device_rule_text(rule(true, 'b', 7, -1, "rw")) == "b 7:* rw");
}

TEST_CASE("device rules: the eBPF program gives cgroup v1's verdicts", "[oci][devices]")
{
    auto p = device_bpf_program(docker_rules());
    CHECK(run_program(p, C, R | W, 1, 3) == 1);  // /dev/null
    CHECK(run_program(p, C, R, 1, 9) == 1);      // /dev/urandom
    CHECK(run_program(p, B, R | W, 7, 0) == 0);  // a loop device: read/write refused
    CHECK(run_program(p, B, M, 7, 0) == 1);      // ... mknod allowed (b *:* m)
    CHECK(run_program(p, C, R, 10, 229) == 0);   // fuse: denied
    CHECK(run_program(p, C, M, 10, 229) == 1);   // the later c *:* m wins, as in v1
    CHECK(run_program(p, C, R, 4, 1) == 0);      // anything else
    // No deny-all: the kernel's default, allow.
    auto open = device_bpf_program({rule(false, 'b', 8, -1, "rw")});
    CHECK(run_program(open, B, R, 8, 1) == 0);
    CHECK(run_program(open, B, R, 9, 1) == 1);
    CHECK(run_program(open, C, W, 1, 3) == 1);
}

TEST_CASE("device rules: the kernel's verifier accepts the program", "[oci][devices][privileged]")
{
    if (::geteuid() != 0)
        FAIL("needs root (bpf BPF_PROG_LOAD)");
    auto p = device_bpf_program(docker_rules());
    static const char license[] = "GPL";
    char log[4096] = {};
    union bpf_attr a;
    std::memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insns = reinterpret_cast<uintptr_t>(p.data());
    a.insn_cnt = static_cast<uint32_t>(p.size());
    a.license = reinterpret_cast<uintptr_t>(license);
    a.log_buf = reinterpret_cast<uintptr_t>(log);
    a.log_size = sizeof log;
    a.log_level = 1;
    int fd = static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a));
    INFO(log);
    CHECK(fd >= 0);
    if (fd >= 0)
        ::close(fd);
}

namespace {

// The mount point of the first cgroup2 filesystem in /proc/self/mountinfo, or "". On a
// hybrid host that is /sys/fs/cgroup/unified; the kernel runs cgroup-device programs for a
// task's cgroup2 membership there even though v1 owns the devices controller.
std::string cgroup2_mount()
{
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        auto sep = line.find(" - ");
        if (sep == std::string::npos)
            continue;
        std::istringstream tail(line.substr(sep + 3));
        std::string fstype;
        tail >> fstype;
        if (fstype != "cgroup2")
            continue;
        std::istringstream head(line.substr(0, sep));
        std::string field, mount_point;
        for (int i = 0; i < 5 && head >> field; ++i)
            mount_point = field;
        return mount_point;
    }
    return "";
}

// Owners of what the attach test creates, so that a failed REQUIRE leaves nothing behind:
// the child is killed and reaped first, then the cgroup (and the program attached to it) and
// the directory of device nodes go.
struct TempCgroup {
    std::string path;
    ~TempCgroup()
    {
        if (path.empty())
            return;
        // The kernel reports a child's exit before it has unlinked the task from its cgroup:
        // rmdir can say EBUSY for a moment. Bounded retry, then report the leak.
        int rc = ::rmdir(path.c_str());
        for (int i = 0, ms = 10; rc < 0 && errno == EBUSY && i < 8; ++i, ms *= 2) {
            ::usleep(ms * 1000);
            rc = ::rmdir(path.c_str());
        }
        if (rc < 0 && errno != ENOENT)
            WARN("rmdir `" << path << "`: " << std::strerror(errno));
    }
};
struct TempDir {
    std::string path;
    ~TempDir()
    {
        std::error_code ec;
        if (!path.empty())
            std::filesystem::remove_all(path, ec);
    }
};
struct ChildProcess {
    pid_t pid = -1;
    ~ChildProcess()
    {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
};

// errno of an open (0: it succeeded).
int open_errno(const char *path, int flags)
{
    int fd = ::open(path, flags | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno;
    ::close(fd);
    return 0;
}
int mknod_errno(const char *path, mode_t mode, dev_t dev)
{
    if (::mknod(path, mode, dev) < 0)
        return errno;
    ::unlink(path);
    return 0;
}

}  // namespace

TEST_CASE("device rules: the program attached to a cgroup2 directory refuses opens and mknods",
          "[oci][devices][privileged]")
{
    REQUIRE_PRIVILEGED("bpf BPF_PROG_ATTACH, mkdir in cgroup2, mknod");
    std::string root = cgroup2_mount();
    INFO("cgroup2 mount: `" << root << "`");
    REQUIRE_FALSE(root.empty());  // no cgroup2 mount at all: fail, never skip

    // A block device that exists on this host (its node is made again in our own directory).
    std::string blk_host;
    struct stat st {};
    for (const char *c : {"/dev/loop0", "/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/xvda"})
        if (::stat(c, &st) == 0 && S_ISBLK(st.st_mode)) {
            blk_host = c;
            break;
        }
    INFO("block device: `" << blk_host << "`");
    REQUIRE_FALSE(blk_host.empty());
    const dev_t blk = st.st_rdev;
    const dev_t loop_control = ::makedev(10, 237);

    // Docker-like, but without "b *:* m" so that mknod of a block device is refused, and with
    // a read-only rule to check the access bits.
    auto prog = device_bpf_program({rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 3, "rwm"),
                                    rule(true, 'c', 1, 5, "rwm"), rule(true, 'c', 1, 9, "r"),
                                    rule(true, 'c', -1, -1, "m")});

    // Nodes of denied devices in a directory of our own: the device cgroup checks the
    // device numbers on open, whatever the path. /tmp must allow device nodes (not nodev).
    TempDir nodes;
    {
        char tmpl[] = "/tmp/urunc-devcg-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        nodes.path = tmpl;
    }
    const std::string n_loopctl = nodes.path + "/loop-control", n_blk = nodes.path + "/blk",
                      n_urandom = nodes.path + "/urandom", n_new_blk = nodes.path + "/new-blk",
                      n_new_null = nodes.path + "/new-null";
    REQUIRE(::mknod(n_loopctl.c_str(), S_IFCHR | 0600, loop_control) == 0);
    REQUIRE(::mknod(n_blk.c_str(), S_IFBLK | 0600, blk) == 0);
    REQUIRE(::mknod(n_urandom.c_str(), S_IFCHR | 0600, ::makedev(1, 9)) == 0);
    // Control, outside the cgroup: the same calls succeed, so an EPERM below is the program's.
    CHECK(open_errno(n_loopctl.c_str(), O_RDWR) == 0);
    CHECK(open_errno(n_blk.c_str(), O_RDONLY) == 0);
    CHECK(open_errno(n_urandom.c_str(), O_RDWR) == 0);
    CHECK(mknod_errno(n_new_blk.c_str(), S_IFBLK | 0600, blk) == 0);

    std::random_device rd;
    TempCgroup cg;
    cg.path = root + "/urunc-devtest-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
    INFO("cgroup: `" << cg.path << "`");
    if (::mkdir(cg.path.c_str(), 0755) < 0) {
        cg.path.clear();
        FAIL("mkdir cgroup: " << std::strerror(errno));
    }
    REQUIRE_NOTHROW(attach_device_program(cg.path, prog));
    const std::string procs = cg.path + "/cgroup.procs";

    // The probes the child runs once it is in the cgroup, and what each must give.
    enum {
        Join,
        DevNullRw,
        DevZeroRo,
        LoopCtlRw,
        BlkRo,
        MknodBlk,
        MknodChr,
        UrandomRo,
        UrandomRw,
        N
    };
    int pipefd[2];
    REQUIRE(::pipe2(pipefd, O_CLOEXEC) == 0);
    UniqueFd rd_end(pipefd[0]), wr_end(pipefd[1]);
    ChildProcess child;
    child.pid = ::fork();
    REQUIRE(child.pid >= 0);
    if (child.pid == 0) {
        // Only plain system calls from here: no Catch2, no exceptions, _exit.
        int res[N];
        for (int &r : res)
            r = -1;
        int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        res[Join] = fd < 0 || ::write(fd, "0", 1) != 1 ? errno : 0;
        if (fd >= 0)
            ::close(fd);
        if (res[Join] == 0) {
            res[DevNullRw] = open_errno("/dev/null", O_RDWR);
            res[DevZeroRo] = open_errno("/dev/zero", O_RDONLY);
            res[LoopCtlRw] = open_errno(n_loopctl.c_str(), O_RDWR);
            res[BlkRo] = open_errno(n_blk.c_str(), O_RDONLY);
            res[MknodBlk] = mknod_errno(n_new_blk.c_str(), S_IFBLK | 0600, blk);
            res[MknodChr] = mknod_errno(n_new_null.c_str(), S_IFCHR | 0600, ::makedev(1, 3));
            res[UrandomRo] = open_errno(n_urandom.c_str(), O_RDONLY);
            res[UrandomRw] = open_errno(n_urandom.c_str(), O_RDWR);
        }
        bool sent = ::write(wr_end.get(), res, sizeof res) == static_cast<ssize_t>(sizeof res);
        ::_exit(sent ? 0 : 1);
    }
    wr_end.reset();
    int res[N];
    size_t got = 0;
    while (got < sizeof res) {
        ssize_t n = ::read(rd_end.get(), reinterpret_cast<char *>(res) + got, sizeof res - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += static_cast<size_t>(n);
    }
    int status = 0;
    REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
    child.pid = -1;
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    REQUIRE(got == sizeof res);

    REQUIRE(res[Join] == 0);
    CHECK(res[DevNullRw] == 0);      // c 1:3 rwm
    CHECK(res[DevZeroRo] == 0);      // c 1:5 rwm
    CHECK(res[LoopCtlRw] == EPERM);  // c 10:237: denied by "a *:* rwm"
    CHECK(res[BlkRo] == EPERM);      // a block device: denied
    CHECK(res[MknodBlk] == EPERM);   // no "b *:* m"
    CHECK(res[MknodChr] == 0);       // c *:* m
    CHECK(res[UrandomRo] == 0);      // c 1:9 r
    CHECK(res[UrandomRw] == EPERM);  // ... but not w
}

TEST_CASE("spec: devices, rlimits, oomScoreAdj, sysctl, masked paths, uid -1", "[oci][spec]")
{
    auto parse = [](const std::string &process, const std::string &linux_) {
        return parse_spec(R"({"ociVersion":"1.0.2","process":{"args":["a"],"cwd":"/")" + process +
                              R"(},"root":{"path":"rootfs"},"linux":{)" + linux_ + "}}",
                          "/b");
    };
    Spec s = parse(
        R"(,"rlimits":[{"type":"RLIMIT_NOFILE","soft":10,"hard":20}],"oomScoreAdj":-5)",
        R"("resources":{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]},
                      "maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"],"sysctl":{"net.core.somaxconn":"7"},
                      "devices":[{"path":"/dev/xvda","type":"b","major":8,"minor":0}])");
    REQUIRE(s.rlimits.size() == 1);
    CHECK(s.rlimits[0].resource == RLIMIT_NOFILE);
    CHECK(s.rlimits[0].soft == 10);
    CHECK(s.oom_score_adj == -5);
    REQUIRE(s.resources.devices.size() == 2);
    CHECK(s.resources.devices[0].type == 'a');
    CHECK(s.resources.devices[0].major == -1);
    CHECK(s.resources.devices[1].access == "rw");
    CHECK(s.masked_paths == std::vector<std::string>{"/proc/kcore"});
    CHECK(s.sysctl.at("net.core.somaxconn") == "7");
    REQUIRE(s.devices.size() == 1);
    CHECK(s.devices[0].type == 'b');
    CHECK(s.devices[0].file_mode == 0666);

    auto err = [&](const std::string &process, const std::string &linux_) {
        try {
            parse(process, linux_);
        } catch (const Error &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK_THAT(err(R"(,"user":{"uid":4294967295,"gid":0})", ""),
               Catch::Contains("process.user.uid"));
    CHECK_THAT(err(R"(,"user":{"uid":0,"gid":4294967295})", ""),
               Catch::Contains("process.user.gid"));
    CHECK_THAT(err(R"(,"rlimits":[{"type":"RLIMIT_X","soft":1,"hard":1}])", ""),
               Catch::Contains("RLIMIT_X"));
    CHECK_THAT(err(R"(,"rlimits":[{"type":"RLIMIT_CORE","soft":2,"hard":1}])", ""),
               Catch::Contains("above"));
    CHECK_THAT(err(R"(,"oomScoreAdj":1001)", ""), Catch::Contains("oomScoreAdj"));
    CHECK_THAT(err("", R"("resources":{"devices":[{"allow":true,"access":"rwx"}]})"),
               Catch::Contains("rwm"));
    CHECK_THAT(err("", R"("devices":[{"path":"/etc/passwd","type":"c"}])"),
               Catch::Contains("under /dev"));
    CHECK_THAT(err("", R"("devices":[{"path":"/dev/../etc/x","type":"c"}])"),
               Catch::Contains("under /dev"));
    CHECK_THAT(err("", R"("maskedPaths":["proc/kcore"])"), Catch::Contains("absolute"));
}

TEST_CASE("rlimits: the name table covers every RLIMIT_*", "[oci][rlimits]")
{
    CHECK(rlimit_number("RLIMIT_NOFILE") == RLIMIT_NOFILE);
    CHECK(rlimit_number("RLIMIT_RTTIME") == RLIMIT_RTTIME);
    CHECK(rlimit_number("RLIMIT_AS") == RLIMIT_AS);
    CHECK(rlimit_number("NOFILE") == -1);
    int found = 0;
    for (const char *n :
         {"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
          "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
          "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"})
        found += rlimit_number(n) >= 0;
    CHECK(found == RLIM_NLIMITS);
}

TEST_CASE("sysctl: only namespaced keys, in a namespace the container owns", "[oci][sysctl]")
{
    CHECK(sysctl_namespace("net.ipv4.ip_forward") == "network");
    CHECK(sysctl_namespace("kernel.shmmax") == "ipc");
    CHECK(sysctl_namespace("fs.mqueue.msg_max") == "ipc");
    CHECK(sysctl_namespace("kernel.hostname") == "uts");
    CHECK(sysctl_namespace("kernel.core_pattern") == "");
    CHECK(sysctl_namespace("vm.drop_caches") == "");
    CHECK_NOTHROW(validate_sysctls({{"net.core.somaxconn", "1"}}, {"network"}));
    CHECK_THROWS_WITH(validate_sysctls({{"net.core.somaxconn", "1"}}, {"ipc"}),
                      Catch::Contains("network namespace"));
    CHECK_THROWS_WITH(validate_sysctls({{"kernel.core_pattern", "|x"}}, {"ipc", "network", "uts"}),
                      Catch::Contains("not in a separate kernel namespace"));
    CHECK_THROWS_WITH(validate_sysctls({{"net..core", "1"}}, {"network"}),
                      Catch::Contains("not a valid"));
    CHECK_THROWS_WITH(validate_sysctls({{"net.core/../../x", "1"}}, {"network"}),
                      Catch::Contains("not a valid"));
}

TEST_CASE("libraries: the loader's --list output, PT_INTERP of a binary", "[rootfs][elf]")
{
    const char *out = "\tlinux-vdso.so.1 (0x00007ffd)\n"
                      "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f16)\n"
                      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f17)\n"
                      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f18)\n";
    CHECK(rootfs::parse_loader_list(out, "/usr/bin/x") ==
          std::vector<std::string>{"/lib/x86_64-linux-gnu/libz.so.1",
                                   "/lib/x86_64-linux-gnu/libc.so.6",
                                   "/lib64/ld-linux-x86-64.so.2"});
    CHECK_THROWS_WITH(rootfs::parse_loader_list("\tlibgone.so.3 => not found\n", "/usr/bin/x"),
                      Catch::Contains("libgone.so.3"));
    // A dynamic binary of the host, and a static one (busybox in Debian is static).
    std::string interp = rootfs::elf_interpreter("/bin/sh");
    CHECK(interp.rfind("/lib", 0) == 0);
    CHECK(rootfs::elf_interpreter("/bin/busybox").empty());
    CHECK_THROWS_WITH(rootfs::elf_interpreter("/etc/passwd"), Catch::Contains("not an ELF"));
    auto libs = rootfs::needed_libraries({"/bin/sh"});
    REQUIRE_FALSE(libs.empty());
    CHECK(libs[0] == interp);
    bool libc = false;
    for (const auto &l : libs)
        libc = libc || l.find("/libc.so") != std::string::npos;
    CHECK(libc);
    CHECK(rootfs::needed_libraries({"/bin/busybox"}).empty());
}

TEST_CASE("libraries: a dlopened module's libraries, though it has no PT_INTERP", "[rootfs][elf]")
{
    // QEMU's TCG accelerator module: a shared object whose libraries the VMM's loader resolves.
    std::string mod = "/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so";
    if (!urunc::path_exists(mod))
        return;  // QEMU built without modules: nothing to list
    CHECK(rootfs::elf_interpreter(mod).empty());
    CHECK(rootfs::needed_libraries({mod}).empty());  // why module_libraries exists
    std::string interp = rootfs::elf_interpreter("/bin/sh");
    auto libs = rootfs::module_libraries(interp, {mod});
    bool libc = false;
    for (const auto &l : libs)
        libc = libc || l.find("/libc.so") != std::string::npos;
    CHECK(libc);
    CHECK(rootfs::module_libraries(interp, {}).empty());
    CHECK_THROWS(rootfs::module_libraries(interp, {"/nonexistent/accel-x.so"}));
}
