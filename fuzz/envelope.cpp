// Fuzz target: the spool's envelope parser (files an admin may have edited,
// or a crash may have cut), and the trailer of a message's single file
// (lib/receipt_trailer). A parsed envelope must serialize to a text that
// parses back to the same envelope; a trailer found must give the content's
// size, and the content with a trailer made anew must split the same way.
#include "envelope.hpp"
#include "receipt_trailer.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

namespace {
// The file name the trailer must name (the seed's id).
const mta::QueueId file_id = *mta::QueueId::parse("1KQ5W2ZB3H4M7RT9XCE");
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        mta::Envelope e = mta::parse_envelope(in);
        std::string once = mta::serialize(e);
        std::string twice = mta::serialize(mta::parse_envelope(once));
        if (once != twice) std::abort();
    } catch (const mta::Error&) {
    }
    auto parts = mta::receipt_trailer::split(in, file_id);
    if (parts.envelope) {
        if (parts.envelope->size != parts.content.size() || parts.envelope->id != file_id) std::abort();
        mta::Xxh64 sum;
        sum.update(parts.content);
        std::string again = std::string(parts.content) + mta::receipt_trailer::make(*parts.envelope, sum);
        auto back = mta::receipt_trailer::split(again, file_id);
        if (!back.envelope || back.content != parts.content ||
            mta::serialize(*back.envelope) != mta::serialize(*parts.envelope))
            std::abort();
    } else if (parts.content != in) {
        std::abort();
    }
    return 0;
}
