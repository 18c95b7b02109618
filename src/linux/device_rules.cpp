#include "linux/device_rules.hpp"

#include "base/error.hpp"
#include "base/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

namespace urunc::linux {
using oci::DeviceRule;

namespace {

bool is_wildcard(const DeviceRule &r) { return r.type == 'a' && r.major < 0 && r.minor < 0; }

// Index of the last rule on every device (it resets what came before), or -1.
long last_wildcard(const std::vector<DeviceRule> &rules)
{
    for (size_t i = rules.size(); i-- > 0;)
        if (is_wildcard(rules[i]))
            return static_cast<long>(i);
    return -1;
}

std::string num(int64_t v) { return v < 0 ? "*" : std::to_string(v); }

// Access bits as the kernel's struct bpf_cgroup_dev_ctx has them.
uint32_t access_bits(const std::string &a)
{
    uint32_t b = 0;
    for (char c : a)
        b |= c == 'm' ? BPF_DEVCG_ACC_MKNOD : c == 'r' ? BPF_DEVCG_ACC_READ : BPF_DEVCG_ACC_WRITE;
    return b;
}

// Hand-assembled instructions (as crun does): no LLVM at run time.
bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}
bpf_insn mov_imm(uint8_t dst, int32_t imm)
{
    return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov_reg(uint8_t dst, uint8_t src)
{
    return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn and_imm(uint8_t dst, int32_t imm)
{
    return insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm);
}
bpf_insn rsh_imm(uint8_t dst, int32_t imm)
{
    return insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm);
}
bpf_insn load_u32(uint8_t dst, uint8_t src, int16_t off)
{
    return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t off)
{
    return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}
bpf_insn jeq_imm(uint8_t dst, int32_t imm, int16_t off)
{
    return insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm);
}
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// Registers: r2 = type, r3 = access, r4 = major, r5 = minor; r1 is scratch after the loads.
enum : uint8_t { R0 = 0, R1, R2, R3, R4, R5 };

}  // namespace

std::string device_rule_text(const DeviceRule &r)
{
    return std::string(1, r.type) + " " + num(r.major) + ":" + num(r.minor) + " " + r.access;
}

std::vector<V1DeviceWrite> v1_device_writes(const std::vector<DeviceRule> &rules)
{
    std::vector<V1DeviceWrite> out;
    long w = last_wildcard(rules);
    // v1 takes "a" in devices.allow/deny as "reset to allow/deny everything, no exceptions".
    if (w >= 0)
        out.push_back({rules[w].allow ? "devices.allow" : "devices.deny", "a"});
    for (size_t i = w + 1; i < rules.size(); ++i)
        out.push_back(
            {rules[i].allow ? "devices.allow" : "devices.deny", device_rule_text(rules[i])});
    return out;
}

std::vector<bpf_insn> device_bpf_program(const std::vector<DeviceRule> &rules)
{
    std::vector<bpf_insn> p;
    // struct bpf_cgroup_dev_ctx { u32 access_type (type | access << 16); u32 major, minor; }
    p.push_back(load_u32(R2, R1, 0));
    p.push_back(mov_reg(R3, R2));
    p.push_back(and_imm(R2, 0xffff));
    p.push_back(rsh_imm(R3, 16));
    p.push_back(load_u32(R4, R1, 4));
    p.push_back(load_u32(R5, R1, 8));
    long w = last_wildcard(rules);
    // Exceptions, last first: the first that matches returns its verdict.
    for (long i = static_cast<long>(rules.size()) - 1; i > w; --i) {
        const DeviceRule &r = rules[i];
        std::vector<bpf_insn> block;
        // Each test jumps to the block's end (the next rule) when it does not match; the
        // offsets are patched once the block's length is known.
        std::vector<size_t> jumps;
        if (r.type != 'a') {
            jumps.push_back(block.size());
            block.push_back(
                jne_imm(R2, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0));
        }
        uint32_t acc = access_bits(r.access);
        block.push_back(mov_reg(R1, R3));
        if (r.allow) {  // every asked bit granted
            block.push_back(and_imm(R1, static_cast<int32_t>(~acc & 7)));
            jumps.push_back(block.size());
            block.push_back(jne_imm(R1, 0, 0));
        } else {  // any asked bit named
            block.push_back(and_imm(R1, static_cast<int32_t>(acc)));
            jumps.push_back(block.size());
            block.push_back(jeq_imm(R1, 0, 0));
        }
        if (r.major >= 0) {
            jumps.push_back(block.size());
            block.push_back(jne_imm(R4, static_cast<int32_t>(r.major), 0));
        }
        if (r.minor >= 0) {
            jumps.push_back(block.size());
            block.push_back(jne_imm(R5, static_cast<int32_t>(r.minor), 0));
        }
        block.push_back(mov_imm(R0, r.allow ? 1 : 0));
        block.push_back(exit_insn());
        for (size_t j : jumps)
            block[j].off = static_cast<int16_t>(block.size() - j - 1);
        p.insert(p.end(), block.begin(), block.end());
    }
    // No rule on every device: the kernel's own default (no device cgroup) is allow.
    p.push_back(mov_imm(R0, w < 0 || rules[w].allow ? 1 : 0));
    p.push_back(exit_insn());
    return p;
}

DeviceRule allow_node(char type, int64_t major, int64_t minor)
{
    DeviceRule r;
    r.allow = true;
    r.type = type;
    r.major = major;
    r.minor = minor;
    r.access = "rwm";
    return r;
}

DeviceRule allow_node(const std::string &path)
{
    struct stat st;
    if (::stat(path.c_str(), &st) < 0)
        throw sys_error("stat device `" + path + "`");
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        throw Error("`" + path + "` is not a device node", ENODEV);
    return allow_node(S_ISBLK(st.st_mode) ? 'b' : 'c', major(st.st_rdev), minor(st.st_rdev));
}

void attach_device_program(const std::string &dir, const std::vector<bpf_insn> &prog)
{
    static const char license[] = "GPL";
    union bpf_attr load;
    std::memset(&load, 0, sizeof load);
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = reinterpret_cast<uintptr_t>(prog.data());
    load.insn_cnt = static_cast<uint32_t>(prog.size());
    load.license = reinterpret_cast<uintptr_t>(license);
    UniqueFd pfd(static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load)));
    if (!pfd)
        throw sys_error("load the device cgroup program for `" + dir + "` (bpf BPF_PROG_LOAD)");
    UniqueFd cg(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cg)
        throw sys_error("open `" + dir + "`");
    union bpf_attr att;
    std::memset(&att, 0, sizeof att);
    att.target_fd = static_cast<uint32_t>(cg.get());
    att.attach_bpf_fd = static_cast<uint32_t>(pfd.get());
    att.attach_type = BPF_CGROUP_DEVICE;
    // MULTI: a program attached higher up (the host's own) keeps applying too.
    att.attach_flags = BPF_F_ALLOW_MULTI;
    if (::syscall(SYS_bpf, BPF_PROG_ATTACH, &att, sizeof att) < 0)
        throw sys_error("attach the device cgroup program to `" + dir + "` (bpf BPF_PROG_ATTACH)");
}

}  // namespace urunc::linux
