#include "heap.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mta::heap {

void keep_freed(std::size_t bytes) {
#if defined(__GLIBC__)
    // glibc refuses an mmap threshold above 32 MiB (on 64-bit). Setting
    // either threshold also stops it from moving the mmap threshold itself.
    constexpr std::size_t most = 32u << 20;
    int n = int(bytes < most ? bytes : most);
    ::mallopt(M_TRIM_THRESHOLD, n);
    ::mallopt(M_MMAP_THRESHOLD, n);
#else
    (void)bytes;
#endif
}

}  // namespace mta::heap
