#include "rootfs/elf_libs.hpp"

#include "base/error.hpp"
#include "base/subprocess.hpp"
#include "base/fd.hpp"
#include "base/strings.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace urunc::rootfs {
namespace {

void pread_exact(int fd, void *buf, size_t n, off_t off, const std::string &path)
{
    ssize_t r = ::pread(fd, buf, n, off);
    if (r < 0)
        throw sys_error("read `" + path + "`");
    if (static_cast<size_t>(r) != n)
        throw Error("`" + path + "`: truncated ELF file", ENOEXEC);
}

template <typename Ehdr, typename Phdr> std::string interp_of(int fd, const std::string &path)
{
    Ehdr eh;
    pread_exact(fd, &eh, sizeof eh, 0, path);
    if (eh.e_phentsize != sizeof(Phdr) || eh.e_phnum > 4096)
        throw Error("`" + path + "`: malformed ELF program headers", ENOEXEC);
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Phdr ph;
        pread_exact(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * sizeof ph), path);
        if (ph.p_type != PT_INTERP)
            continue;
        if (ph.p_filesz < 2 || ph.p_filesz > 4096)
            throw Error("`" + path + "`: malformed PT_INTERP", ENOEXEC);
        std::string s(ph.p_filesz, '\0');
        pread_exact(fd, s.data(), s.size(), static_cast<off_t>(ph.p_offset), path);
        s.resize(std::strlen(s.c_str()));
        if (s.empty() || s[0] != '/')
            throw Error("`" + path + "`: interpreter `" + s + "` is not an absolute path", ENOEXEC);
        return s;
    }
    return {};
}

// Runs `interp --list path`, returns its stdout.
std::string loader_list(const std::string &interp, const std::string &path)
{
    ProcessOptions o;
    o.out = ProcessOptions::Out::capture;
    o.quiet = true;
    o.empty_env = true;  // no LD_LIBRARY_PATH or LD_PRELOAD of ours
    ProcessResult r = run_process({interp, "--list", path}, o);
    if (!r.ok())
        throw Error("`" + interp + " --list " + path + "` failed (status " +
                        std::to_string(r.status) + "): cannot tell which libraries it needs",
                    ENOEXEC);
    return r.out;
}

}  // namespace

std::string elf_interpreter(const std::string &path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throw sys_error("open `" + path + "`");
    unsigned char ident[EI_NIDENT];
    pread_exact(fd.get(), ident, sizeof ident, 0, path);
    if (std::memcmp(ident, ELFMAG, SELFMAG) != 0)
        throw Error("`" + path + "` is not an ELF file", ENOEXEC);
    bool native_le = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
    if (ident[EI_DATA] != (native_le ? ELFDATA2LSB : ELFDATA2MSB))
        throw Error("`" + path + "`: ELF byte order is not this machine's", ENOEXEC);
    if (ident[EI_CLASS] == ELFCLASS64)
        return interp_of<Elf64_Ehdr, Elf64_Phdr>(fd.get(), path);
    if (ident[EI_CLASS] == ELFCLASS32)
        return interp_of<Elf32_Ehdr, Elf32_Phdr>(fd.get(), path);
    throw Error("`" + path + "`: unknown ELF class", ENOEXEC);
}

std::vector<std::string> parse_loader_list(std::string_view output, const std::string &binary)
{
    std::vector<std::string> out;
    for (const auto &raw : split(output, '\n')) {
        std::string_view line = trim(raw);
        if (line.empty())
            continue;
        // "libc.so.6 => /lib/.../libc.so.6 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)",
        // "linux-vdso.so.1 (0x...)" (no file), "libfoo.so.1 => not found".
        std::string_view path = line;
        if (auto arrow = line.find(" => "); arrow != std::string_view::npos) {
            path = line.substr(arrow + 4);
            if (starts_with(path, "not found"))
                throw Error("`" + binary + "` needs `" + std::string(line.substr(0, arrow)) +
                                "`, which the dynamic loader does not find",
                            ENOENT);
        }
        if (auto sp = path.find(" ("); sp != std::string_view::npos)
            path = path.substr(0, sp);
        if (path.empty() || path[0] != '/')
            continue;
        out.emplace_back(path);
    }
    return out;
}

std::vector<std::string> needed_libraries(const std::vector<std::string> &binaries)
{
    std::vector<std::string> out;
    for (const auto &b : binaries) {
        std::string interp = elf_interpreter(b);
        if (interp.empty())
            continue;
        std::vector<std::string> libs = {interp};
        for (auto &l : parse_loader_list(loader_list(interp, b), b))
            libs.push_back(std::move(l));
        for (auto &l : libs)
            if (std::find(out.begin(), out.end(), l) == out.end())
                out.push_back(std::move(l));
    }
    return out;
}

std::vector<std::string> module_libraries(const std::string &interp,
                                          const std::vector<std::string> &modules)
{
    std::vector<std::string> out;
    for (const auto &m : modules)
        for (auto &l : parse_loader_list(loader_list(interp, m), m))
            if (std::find(out.begin(), out.end(), l) == out.end())
                out.push_back(std::move(l));
    return out;
}

}  // namespace urunc::rootfs
