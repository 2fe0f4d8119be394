// Fuzz target: RFC 5321 paths as MAIL FROM/RCPT TO carry them. A parsed
// address's canonical form must parse back to the same address.
#include "address.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    for (bool utf8 : {false, true}) {
        mta::Address::Options o{.allow_null = true, .allow_bare_local = true, .utf8 = utf8};
        try {
            mta::Address a = mta::Address::parse_path(in, o);
            mta::Address b = mta::Address::parse_path(a.path(), o);
            if (!(a == b)) std::abort();
            if (a.str().size() > 256 + 2) std::abort();
        } catch (const mta::Error&) {
        }
    }
    return 0;
}
