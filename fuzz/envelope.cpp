// Fuzz target: the spool's envelope parser (files an admin may have edited,
// or a crash may have cut). A parsed envelope must serialize to a text that
// parses back to the same envelope.
#include "envelope.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        mta::Envelope e = mta::parse_envelope(in);
        std::string once = mta::serialize(e);
        std::string twice = mta::serialize(mta::parse_envelope(once));
        if (once != twice) std::abort();
    } catch (const mta::Error&) {
    }
    return 0;
}
