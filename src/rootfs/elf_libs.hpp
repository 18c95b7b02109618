// The shared libraries a dynamic ELF binary (the VMM) loads, so that its root gets those
// and nothing else of /usr/lib.
//
// Resolution is the dynamic loader's own: `<PT_INTERP> --list <binary>` (what ldd does).
// Redoing it by hand (DT_NEEDED, RUNPATH, $ORIGIN, ld.so.cache, glibc-hwcaps subdirectories)
// would be a second, subtly different loader; --list only maps the objects and prints where
// they are, it runs none of the binary's code. The binary is the host's VMM, named by the
// host config or found in PATH, never a file from an image.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace urunc::rootfs {

// PT_INTERP of the ELF file at `path` ("" for a static binary). Throws Error on a file that is
// not a 64-bit or 32-bit ELF of this machine's byte order.
std::string elf_interpreter(const std::string &path);

// Absolute paths from the loader's --list output, in order (the vDSO, which has no file, is
// skipped). A "not found" line is an Error naming the library.
std::vector<std::string> parse_loader_list(std::string_view output, const std::string &binary);

// The interpreter and every library of each binary (none for a static one), without
// duplicates.
std::vector<std::string> needed_libraries(const std::vector<std::string> &binaries);

// The libraries of shared objects a binary loads with dlopen (QEMU's accelerator modules),
// as its loader `interp` resolves them, without duplicates. They have no PT_INTERP of their
// own, so needed_libraries would skip them.
std::vector<std::string> module_libraries(const std::string &interp,
                                          const std::vector<std::string> &modules);

}  // namespace urunc::rootfs
