// Fuzz target: a header block and the RFC 5322 address lists sendmail -t
// reads from it. Every address found must read back as itself, alone.
#include "local_submission.hpp"
#include "message_header.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        for (auto& m : mta::parse_address_list(in)) {
            auto again = mta::parse_address_list(m.address);
            if (again.size() != 1 || again[0].address != m.address) std::abort();
        }
    } catch (const mta::Error&) {
    }
    try {
        mta::MessageHeader h = mta::MessageHeader::parse(in);
        (void)mta::header_recipients(h, "example.org");
    } catch (const mta::Error&) {
    }
    return 0;
}
