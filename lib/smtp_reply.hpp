// smtp_reply: a server's reply, parsed strictly (RFC 5321 4.2).
//
// A reply is one or more lines "CCC-text" ending with "CCC text" (or a
// bare "CCC"), every line with the same three-digit code whose first
// digit is 2 to 5. Anything else — a bad code, mixed codes, a line longer
// than max_line, more than max_lines lines — is a protocol error: the
// parser throws mta::Error with a temporary Status, never crashes, and
// the connection is not used again.
#pragma once

#include "status.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

struct SmtpReply {
    int code = 0;
    std::vector<std::string> lines;  // the text of each line, code and separator removed

    bool positive() const { return code >= 200 && code < 400; }
    bool intermediate() const { return code >= 300 && code < 400; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500; }
    // The enhanced status code at the start of the first line when its
    // class agrees with the reply code ("" when there is none).
    std::string enhanced() const;
    // All lines joined by spaces, as one line of text.
    std::string text() const;
    // "250 2.1.0 Ok": the reply as one line.
    std::string one_line() const;
    // The outcome: 2xx/3xx ok, 4xx temporary, 5xx permanent. The enhanced
    // code is the server's when it gave one, else `fallback` (its class
    // replaced to agree with the reply code).
    Status status(std::string_view fallback = "X.0.0") const;
};

// Builds a reply from the lines a server sends, one line at a time.
class SmtpReplyParser {
public:
    static constexpr size_t max_line = 2048;  // bytes per line, CRLF excluded
    static constexpr size_t max_lines = 100;

    // Feeds one line (without CR LF). Returns the reply when this line is
    // its last; throws Error (temporary, 4.5.0) on a malformed line.
    std::optional<SmtpReply> feed(std::string_view line);
    void reset() { reply_ = SmtpReply(); }

private:
    SmtpReply reply_;
};

// Parses a complete reply given as text with CRLF or LF line ends
// (for tests and small tools). Throws like feed().
SmtpReply parse_smtp_reply(std::string_view text);

}  // namespace mta
