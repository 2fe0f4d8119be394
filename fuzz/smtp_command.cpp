// Fuzz target: SMTP command lines and the arguments of MAIL, RCPT and BDAT.
// Parsing either succeeds or throws mta::Error; a parsed address is valid.
#include "smtp_command.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    using namespace mta::smtp;
    try {
        Command c = parse_command(in);
        if (c.name.size() > in.size()) std::abort();
    } catch (const mta::Error&) {
    }
    for (bool esmtp : {false, true}) {
        try {
            MailFrom m = parse_mail(in, esmtp);
            if (!esmtp && (m.size || !m.body.empty() || m.smtputf8)) std::abort();
        } catch (const mta::Error&) {
        }
        try {
            RcptTo r = parse_rcpt(in, esmtp, true);
            if (r.recipient.domain().empty() && !r.bare_postmaster) std::abort();
        } catch (const mta::Error&) {
        }
    }
    try {
        parse_bdat(in);
    } catch (const mta::Error&) {
    }
    return 0;
}
