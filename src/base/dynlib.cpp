#include "base/dynlib.hpp"

#include <dlfcn.h>

namespace urunc {

void *DynLib::raw_symbol(const char *name)
{
    if (!handle_) {
        // RTLD_NOW: a missing symbol shows here, in one clear error, not as a crash later.
        // Never closed: the library stays for the life of the process, as a linked one would.
        handle_ = ::dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
        if (!handle_) {
            const char *why = ::dlerror();
            throw Error(std::string("load `") + soname_ + "`: " + (why ? why : "dlopen failed"));
        }
    }
    ::dlerror();
    void *p = ::dlsym(handle_, name);
    if (!p) {
        const char *why = ::dlerror();
        throw Error(std::string("`") + soname_ + "`: symbol `" + name +
                    "`: " + (why ? why : "not found"));
    }
    return p;
}

}  // namespace urunc
