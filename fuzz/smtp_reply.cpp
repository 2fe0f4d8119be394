// Fuzz target: what an SMTP server says to mta-send, and what mta-send
// writes after DATA. Replies either parse or throw mta::Error; encoded
// content never has a bare CR or LF, never a line "." before the end, and
// is the same whether encoded at once or in two pieces.
#include "smtp_data.hpp"
#include "smtp_reply.hpp"
#include "smtp_transaction.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);

    mta::SmtpReplyParser p;
    std::string_view rest = in;
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        try {
            if (auto r = p.feed(line)) {
                if (r->code < 200 || r->code > 599 || r->lines.empty()) std::abort();
                mta::Status s = r->status("X.1.0");
                if (!mta::is_enhanced_code(s.enhanced)) std::abort();
                (void)mta::parse_ehlo(*r);
            }
        } catch (const mta::Error& e) {
            if (e.status().outcome != mta::Outcome::temporary) std::abort();
        }
    }

    std::string whole = mta::smtp_data(in);
    if (whole.size() < 3 || whole.compare(whole.size() - 3, 3, ".\r\n") != 0) std::abort();
    for (size_t i = 0; i < whole.size(); ++i) {
        if (whole[i] == '\r' && (i + 1 == whole.size() || whole[i + 1] != '\n')) std::abort();
        if (whole[i] == '\n' && (i == 0 || whole[i - 1] != '\r')) std::abort();
    }
    auto end = whole.find("\r\n.\r\n");
    if (end != std::string::npos && end + 5 != whole.size()) std::abort();
    if (whole.size() > 3 && whole.compare(0, 3, ".\r\n") == 0) std::abort();
    std::string pieces;
    mta::SmtpDataEncoder e;
    e.feed(in.substr(0, size / 2), pieces);
    e.feed(in.substr(size / 2), pieces);
    e.finish(pieces);
    if (pieces != whole) std::abort();
    return 0;
}
