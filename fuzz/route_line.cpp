// Fuzz target: route lines (mta-route's output as mta-send and mta-queue
// read it). A parsed route must print to a line that parses to the same.
#include "route.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        mta::Route r = mta::parse_route(in);
        std::string once = r.str();
        (void)r.json();
        if (once.find('\n') != std::string::npos) std::abort();
        mta::Route again = mta::parse_route(once);
        if (again.str() != once) std::abort();
    } catch (const mta::Error&) {
    }
    return 0;
}
