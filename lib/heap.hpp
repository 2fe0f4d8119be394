// heap: how a long-lived process gives freed memory back to the kernel.
//
// glibc returns the top of the heap to the kernel (brk) as soon as more
// than 128 KiB of it is free, and serves blocks of 128 KiB and more with
// mmap and munmap (it raises both thresholds by itself only after it has
// freed such an mmap'd block). A process that handles one message after
// another (an mta-recv worker, `mta-queue run --loop`) then shrinks and
// regrows its heap for every message: two system calls, the page faults
// of touching the pages again, and, in a process with more than one
// thread, a TLB flush on every CPU that ran one of them. On a virtual
// machine where a page fault costs 12 us, that was a third of mta-recv's
// CPU time at 100 KiB (docs/performance.md, "Where a page costs").
#pragma once

#include <cstddef>

namespace mta::heap {

// Keeps up to `bytes` of freed memory for reuse instead of returning it,
// and serves blocks smaller than `bytes` from the heap. What a process
// keeps is what it once used at its peak, so its peak memory is
// unchanged. A no-op where the C library has no such knobs.
void keep_freed(std::size_t bytes);

}  // namespace mta::heap
