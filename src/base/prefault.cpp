#include "base/prefault.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

// The hot code's bounds: hot-functions.txt lists the first marker first and the second last,
// so the link places every hot function between them.
extern "C" [[gnu::noinline, gnu::used]] void urunc_hot_text_begin() { asm volatile(""); }
extern "C" [[gnu::noinline, gnu::used]] void urunc_hot_text_end() { asm volatile(""); }

// The linker's symbols around the writable data and the bss.
extern "C" char __data_start[], _end[];

namespace urunc::base {
namespace {

void populate(std::uintptr_t from, std::uintptr_t to, int advice) noexcept
{
    const std::uintptr_t page = static_cast<std::uintptr_t>(::getpagesize());
    from &= ~(page - 1);
    to = (to + page - 1) & ~(page - 1);
    if (from < to) {
        int saved = errno;
        ::madvise(reinterpret_cast<void *>(from), to - from, advice);
        errno = saved;
    }
}

// The stack below the caller's frame: the kernel maps 128 KiB under the arguments at exec
// (the stack's mapping already covers it); create and the init use ~50 KiB.
constexpr std::uintptr_t kStack = 64 << 10;

}  // namespace

void prefault_image(bool with_heap) noexcept
{
    auto begin = reinterpret_cast<std::uintptr_t>(&urunc_hot_text_begin);
    auto end = reinterpret_cast<std::uintptr_t>(&urunc_hot_text_end);
    // Linked without the order (another linker), the markers sit anywhere: nothing to do.
    if (begin < end && end - begin < (std::uintptr_t{8} << 20))
        populate(begin, end, MADV_POPULATE_READ);
    populate(reinterpret_cast<std::uintptr_t>(__data_start), reinterpret_cast<std::uintptr_t>(_end),
             MADV_POPULATE_WRITE);
    if (!with_heap)
        return;
    // The main arena's heap (brk, contiguous: it ends at the break): at start-up the ~132 KiB
    // glibc's first growth made, ~40 pages of which create writes.
    auto brk = reinterpret_cast<std::uintptr_t>(::sbrk(0));
    std::size_t arena = ::mallinfo2().arena;
    if (arena > 0 && arena <= brk)
        populate(brk - arena, brk, MADV_POPULATE_WRITE);
    auto sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    populate(sp - kStack, sp, MADV_POPULATE_WRITE);
}

}  // namespace urunc::base
