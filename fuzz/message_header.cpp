// Fuzz target: message headers (lib/message_header) as sendmail -t and
// the header fix-ups read them, and the address lists of To:/Cc:/Bcc:.
// Properties: a parsed header block prints back byte for byte (CRLF line
// ends as LF); unfolded values hold no line break; every mailbox of an
// address list has no CR or LF; an encoded display name is one line; the
// -t recipients parse or throw an Error.
//
// Found with it (tests/unit/hardening_test.cpp, "found" cases, fixed):
// value() of a field whose value is only white space was "\n", not ""; a
// bare CR or LF (or NUL) inside a quoted string passed into an address.
#include "local_submission.hpp"
#include "message_header.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

namespace {


bool has_newline(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }


}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        mta::MessageHeader h = mta::MessageHeader::parse(in);
        // Byte for byte, but for CRLF line ends, which become LF.
        std::string lf;
        for (size_t i = 0; i < in.size(); ++i)
            if (!(in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n')) lf += in[i];
        if (!in.empty() && in.back() == '\n' && h.str() != lf) std::abort();
        if (h.bytes() != h.str().size()) std::abort();
        for (const auto& f : h.fields()) {
            if (!mta::same_name(f.name, f.name)) std::abort();
            std::string v = f.value();
            if (v.find('\n') != std::string::npos) std::abort();
        }
        try {
            (void)mta::header_recipients(h, "example.org");
        } catch (const mta::Error&) {
        }
        mta::MessageHeader copy = h;
        size_t n = copy.remove("Bcc");
        if (n != h.values("bcc").size()) std::abort();
        copy.prepend("Received", "from x by y; Thu, 1 Jan 1970 00:00:00 +0000");
        if (!copy.has("received")) std::abort();
    } catch (const mta::Error&) {
    }
    try {
        for (const mta::Mailbox& m : mta::parse_address_list(in)) {
            if (has_newline(m.address)) std::abort();
            std::string p = mta::encode_phrase(m.display_name);
            if (has_newline(p)) std::abort();
        }
    } catch (const mta::Error&) {
    }
    if (has_newline(mta::encode_phrase(in))) std::abort();
    return 0;
}
