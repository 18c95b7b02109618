// A shared library opened on first use. urunc links statically what Debian ships as
// archives; the two it cannot (libmount, libdevmapper: no .a) are opened with dlopen by
// the code that needs them, so the verbs that never read a mount table or a device-mapper
// table (state, kill, start, delete, ...) do not pay the dynamic loader for them and their
// dependencies (blkid, selinux, pcre2, udev) at every launch.
#pragma once

#include "base/error.hpp"

#include <string>

namespace urunc {

class DynLib {
public:
    // `soname` is the ABI the headers we compile against describe ("libmount.so.1").
    explicit constexpr DynLib(const char *soname) : soname_(soname) {}
    DynLib(const DynLib &) = delete;
    DynLib &operator=(const DynLib &) = delete;

    // The address of `name`, typed as the header declares it (use URUNC_DYNSYM). Opens
    // the library on the first call; throws Error naming the library and the symbol.
    template <typename Fn> Fn symbol(const char *name)
    {
        return reinterpret_cast<Fn>(raw_symbol(name));
    }

private:
    void *raw_symbol(const char *name);
    const char *soname_;
    void *handle_ = nullptr;
};

}  // namespace urunc

// `fn`'s address from `lib`, with the type of `fn`'s declaration in its header: a call
// through it is checked by the compiler as a direct call would be.
#define URUNC_DYNSYM(lib, fn) (lib).symbol<decltype(&fn)>(#fn)
