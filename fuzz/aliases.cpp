// Fuzz target: the aliases(5) file (as mta-deliver and newaliases read it)
// and ~/.forward values (lib/aliases). Properties: entry names are lower
// case, not empty and found again in the table; every value is classified
// or refused with an Error; a value classified holds no line break.
//
// Found with it (tests/unit/hardening_test.cpp, "found" cases, fixed): a
// quoted value ran across line breaks and an unterminated quote was taken.
#include "aliases.hpp"
#include "ascii.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

namespace {


void classify_all(const std::vector<std::string>& values) {
    for (const auto& v : values) {
        try {
            mta::aliases::Target t = mta::aliases::classify(v);
            if (t.value.find('\n') != std::string::npos) std::abort();
        } catch (const mta::Error&) {
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        auto entries = mta::aliases::parse(in, "aliases");
        for (const auto& e : entries) {
            if (e.name.empty() || e.name != mta::ascii::lower(e.name)) std::abort();
            if (e.line < 1) std::abort();
            classify_all(e.values);
        }
        auto t = mta::aliases::Table::from_text(in, "aliases");
        for (const auto& e : entries)
            if (!t.find(e.name)) std::abort();
    } catch (const mta::Error&) {
    }
    try {
        classify_all(mta::aliases::split_values(in));
    } catch (const mta::Error&) {
    }
    return 0;
}
