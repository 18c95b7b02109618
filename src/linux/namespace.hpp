#pragma once

// The kernel plumbing lives in `urunc::linux`. GNU dialects (-std=gnu++20) predefine the
// macro `linux` as 1, which would turn every `linux::` into `1::`; meson builds with
// cpp_std=c++20 (strict ISO), where it is not defined. Say so here instead of in a hundred
// baffling errors if someone switches the dialect.
#ifdef linux
#error "the macro `linux` is defined (a GNU dialect?): build with -std=c++20, not gnu++20"
#endif
