// smtp_command: one SMTP command line, parsed into typed values.
//
// A command line arrives without its CRLF. parse_command() splits the verb
// from its argument; parse_mail(), parse_rcpt() and parse_bdat() turn the
// argument of MAIL, RCPT and BDAT into addresses and ESMTP parameters
// (RFC 5321 4.1.2, SIZE RFC 1870, BODY RFC 6152, SMTPUTF8 RFC 6531,
// DSN RFC 3461, AUTH RFC 4954, CHUNKING RFC 3030). Every parse error is an
// mta::Error carrying the SMTP reply (501, 555, 504...).
#pragma once

#include "address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mta::smtp {

enum class Verb { helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, help, vrfy, expn, starttls, auth, unknown };

struct Command {
    Verb verb = Verb::unknown;
    std::string name;  // the verb as sent, upper-cased
    std::string arg;   // the rest of the line after one space ("" when none)
};

// Splits a command line. NUL or other control characters → 501 5.5.2.
Command parse_command(std::string_view line);

struct MailFrom {
    Address sender;                      // null for <>
    std::optional<std::uint64_t> size;   // SIZE=
    std::string body;                    // "", "7BIT", "8BITMIME"
    bool smtputf8 = false;
    std::string ret;                     // "", "FULL", "HDRS"
    std::string envid;                   // xtext-decoded
    std::string auth;                    // AUTH= (xtext-decoded, "<>" kept)
};

struct RcptTo {
    Address recipient;
    bool bare_postmaster = false;  // "<Postmaster>" without a domain
    std::string notify;            // "", "NEVER", or e.g. "SUCCESS,FAILURE"
    std::string orcpt;             // "rfc822;bob@example.org" (xtext-decoded)
};

struct Bdat {
    std::uint64_t size = 0;
    bool last = false;
};

// The argument of MAIL ("FROM:<a@b> SIZE=10 ..."). utf8_allowed: SMTPUTF8
// was advertised (it is, always, in EHLO sessions).
MailFrom parse_mail(std::string_view arg, bool esmtp);
// The argument of RCPT ("TO:<a@b> NOTIFY=..."). utf8: the transaction has SMTPUTF8.
RcptTo parse_rcpt(std::string_view arg, bool esmtp, bool utf8);
Bdat parse_bdat(std::string_view arg);

// RFC 3461 xtext: "+2B" → "+". Throws Error (501 5.5.4) when malformed.
std::string xtext_decode(std::string_view s);

}  // namespace mta::smtp
