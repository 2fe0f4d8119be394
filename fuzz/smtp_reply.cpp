// Fuzz target: SMTP replies as mta-send reads them from a server
// (lib/smtp_reply). The input is split into lines at LF (a CR before it
// removed), fed one at a time, as the client does. Properties: a reply
// has a code from 200 to 599, its lines are within the limits, its
// one-line form holds no CR or LF, and its Status agrees with its class.
#include "smtp_reply.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

namespace {

void check(const mta::SmtpReply& r) {
    if (r.code < 200 || r.code > 599) std::abort();
    if (r.lines.empty() || r.lines.size() > mta::SmtpReplyParser::max_lines) std::abort();
    for (const auto& l : r.lines)
        if (l.size() > mta::SmtpReplyParser::max_line) std::abort();
    if (r.one_line().find_first_of("\r\n") != std::string::npos) std::abort();
    if (r.text().find_first_of("\r\n") != std::string::npos) std::abort();
    std::string e = r.enhanced();
    if (!e.empty() && e[0] - '0' != r.code / 100) std::abort();
    mta::Status s = r.status();
    if (r.positive() != (s.outcome == mta::Outcome::ok)) std::abort();
    if (r.transient() && s.outcome != mta::Outcome::temporary) std::abort();
    if (r.permanent() && s.outcome != mta::Outcome::permanent) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    mta::SmtpReplyParser p;
    size_t at = 0;
    while (at < in.size()) {
        size_t e = in.find('\n', at);
        std::string_view line = in.substr(at, e == std::string_view::npos ? std::string_view::npos : e - at);
        at = e == std::string_view::npos ? in.size() : e + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        try {
            if (auto r = p.feed(line)) {
                check(*r);
                p.reset();
            }
        } catch (const mta::Error&) {
            p.reset();
        }
    }
    try {
        check(mta::parse_smtp_reply(in));
    } catch (const mta::Error&) {
    }
    return 0;
}
