// Fuzz target: SMTP command lines and the parameters of MAIL, RCPT and
// BDAT (lib/smtp_command), the bytes a client sends before any check.
// Properties: a parsed verb and argument carry no control character but
// HT, and every address parsed from a path prints to a path that parses
// back to the same address.
#include "address.hpp"
#include "smtp_command.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>

namespace {

// Control characters other than HT (which may separate words).
bool has_control(std::string_view s) {
    for (unsigned char c : s)
        if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
    return false;
}

void round_trip(const mta::Address& a, bool utf8) {
    if (a.is_null()) return;
    mta::Address::Options o;
    o.allow_bare_local = true;
    o.utf8 = utf8;
    mta::Address b = mta::Address::parse_path(a.path(), o);
    if (!(b == a)) std::abort();
    if (b.path() != a.path()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const unsigned flags = data[0];
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    const bool esmtp = flags & 1, utf8 = flags & 2;
    try {
        mta::smtp::Command c = mta::smtp::parse_command(in);
        if (has_control(c.name) || has_control(c.arg)) std::abort();
    } catch (const mta::Error&) {
    }
    // The parameter parsers see whatever follows the verb.
    try {
        mta::smtp::MailFrom m = mta::smtp::parse_mail(in, esmtp);
        round_trip(m.sender, true);
        if (!esmtp && (m.size || !m.body.empty() || m.smtputf8 || !m.ret.empty())) std::abort();
    } catch (const mta::Error&) {
    }
    try {
        mta::smtp::RcptTo r = mta::smtp::parse_rcpt(in, esmtp, utf8);
        if (!r.bare_postmaster) round_trip(r.recipient, utf8);
        if (!utf8 && r.recipient.is_utf8()) std::abort();
    } catch (const mta::Error&) {
    }
    try {
        (void)mta::smtp::parse_bdat(in);
    } catch (const mta::Error&) {
    }
    try {
        (void)mta::smtp::xtext_decode(in);
    } catch (const mta::Error&) {
    }
    return 0;
}
