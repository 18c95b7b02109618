// Pure parts of the confinement: device rules (cgroup v1 lines, the v2 eBPF program, which
// the kernel's verifier must accept), the rlimit table, the sysctl namespace rule, the spec
// fields, the loader's --list parsing and PT_INTERP.
#include "base/error.hpp"
#include "oci/device_rules.hpp"
#include "oci/process_limits.hpp"
#include "oci/spec.hpp"
#include "rootfs/elf_libs.hpp"

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

using namespace urunc;
using namespace urunc::oci;

namespace {

DeviceRule rule(bool allow, char type, int64_t major, int64_t minor, const char *access)
{
    return DeviceRule{allow, type, major, minor, access};
}

// Docker's default list, shortened: deny all, a few nodes, mknod of anything.
std::vector<DeviceRule> docker_rules()
{
    return {rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 3, "rwm"), rule(true, 'c', 1, 9, "rwm"),
            rule(false, 'c', 10, 229, "rwm"), rule(true, 'c', -1, -1, "m"), rule(true, 'b', -1, -1, "m")};
}

// A tiny interpreter of the program we emit (only the instructions we use), to check the
// verdicts without a kernel.
int run_program(const std::vector<bpf_insn> &p, uint32_t type, uint32_t access, uint32_t major, uint32_t minor)
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

} // namespace

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
    CHECK(run_program(p, C, R | W, 1, 3) == 1);   // /dev/null
    CHECK(run_program(p, C, R, 1, 9) == 1);       // /dev/urandom
    CHECK(run_program(p, B, R | W, 7, 0) == 0);   // a loop device: read/write refused
    CHECK(run_program(p, B, M, 7, 0) == 1);       // ... mknod allowed (b *:* m)
    CHECK(run_program(p, C, R, 10, 229) == 0);    // fuse: denied
    CHECK(run_program(p, C, M, 10, 229) == 1);    // the later c *:* m wins, as in v1
    CHECK(run_program(p, C, R, 4, 1) == 0);       // anything else
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

TEST_CASE("spec: devices, rlimits, oomScoreAdj, sysctl, masked paths, uid -1", "[oci][spec]")
{
    auto parse = [](const std::string &process, const std::string &linux_) {
        return parse_spec(R"({"ociVersion":"1.0.2","process":{"args":["a"],"cwd":"/")" + process +
                              R"(},"root":{"path":"rootfs"},"linux":{)" + linux_ + "}}",
                          "/b");
    };
    Spec s = parse(R"(,"rlimits":[{"type":"RLIMIT_NOFILE","soft":10,"hard":20}],"oomScoreAdj":-5)",
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
    CHECK_THAT(err(R"(,"user":{"uid":4294967295,"gid":0})", ""), Catch::Contains("process.user.uid"));
    CHECK_THAT(err(R"(,"user":{"uid":0,"gid":4294967295})", ""), Catch::Contains("process.user.gid"));
    CHECK_THAT(err(R"(,"rlimits":[{"type":"RLIMIT_X","soft":1,"hard":1}])", ""), Catch::Contains("RLIMIT_X"));
    CHECK_THAT(err(R"(,"rlimits":[{"type":"RLIMIT_CORE","soft":2,"hard":1}])", ""), Catch::Contains("above"));
    CHECK_THAT(err(R"(,"oomScoreAdj":1001)", ""), Catch::Contains("oomScoreAdj"));
    CHECK_THAT(err("", R"("resources":{"devices":[{"allow":true,"access":"rwx"}]})"), Catch::Contains("rwm"));
    CHECK_THAT(err("", R"("devices":[{"path":"/etc/passwd","type":"c"}])"), Catch::Contains("under /dev"));
    CHECK_THAT(err("", R"("devices":[{"path":"/dev/../etc/x","type":"c"}])"), Catch::Contains("under /dev"));
    CHECK_THAT(err("", R"("maskedPaths":["proc/kcore"])"), Catch::Contains("absolute"));
}

TEST_CASE("rlimits: the name table covers every RLIMIT_*", "[oci][rlimits]")
{
    CHECK(rlimit_number("RLIMIT_NOFILE") == RLIMIT_NOFILE);
    CHECK(rlimit_number("RLIMIT_RTTIME") == RLIMIT_RTTIME);
    CHECK(rlimit_number("RLIMIT_AS") == RLIMIT_AS);
    CHECK(rlimit_number("NOFILE") == -1);
    int found = 0;
    for (const char *n : {"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE",
                          "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
                          "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO",
                          "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"})
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
    CHECK_THROWS_WITH(validate_sysctls({{"net..core", "1"}}, {"network"}), Catch::Contains("not a valid"));
    CHECK_THROWS_WITH(validate_sysctls({{"net.core/../../x", "1"}}, {"network"}), Catch::Contains("not a valid"));
}

TEST_CASE("libraries: the loader's --list output, PT_INTERP of a binary", "[rootfs][elf]")
{
    const char *out = "\tlinux-vdso.so.1 (0x00007ffd)\n"
                      "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f16)\n"
                      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f17)\n"
                      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f18)\n";
    CHECK(rootfs::parse_loader_list(out, "/usr/bin/x") ==
          std::vector<std::string>{"/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/libc.so.6",
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
