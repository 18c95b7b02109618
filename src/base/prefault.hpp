// Mapping the pages a command will touch anyway in one system call each, instead of one
// page fault per page (or per 64 KiB of code, the kernel's fault-around). On the reference
// machine a fault costs 10-14 us and a command takes 80-200 of them; populating costs under
// 1 us per page (docs/performance.md, "fifth pass").
#pragma once

namespace urunc::base {

// The hot code (the functions src/cli/hot-functions.txt lists, which the link puts first,
// between the markers urunc_hot_text_begin and urunc_hot_text_end) and the writable data
// and bss, and with `with_heap` the heap and the top 64 KiB of stack: mapped (and, for what
// is written, made private) now. The container init calls it without the heap right after
// clone: it inherits none of the code's page table entries and shares the data
// copy-on-write (copying the whole heap there cost more than the faults it saved). Best
// effort: a kernel without MADV_POPULATE_READ/WRITE (before 5.14) or a binary linked
// without the order changes nothing. The urunc binary's first constructor calls it with the
// heap (src/cli/main.cpp), before libnl's and the C++ library's would fault in much of the
// hot code one page run at a time.
void prefault_image(bool with_heap) noexcept;

}  // namespace urunc::base
