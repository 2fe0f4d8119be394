// Fuzz target: result lines of delivery programs as mta-queue reads them.
#include "result_line.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto r = mta::parse_result_line(in)) {
        std::string once = r->str();
        auto again = mta::parse_result_line(once);
        if (!again || again->str() != once) std::abort();
        (void)r->json();
    }
    return 0;
}
