// smtp_data: message content as it goes on the wire after DATA.
//
// Stored content uses LF line ends (the spool) or anything a user pipes
// in; the wire wants CRLF only (RFC 5321 2.3.8: no bare CR or LF) and
// transparency (4.5.2: a line starting with "." gets one more). The
// encoder turns LF, CR LF and a bare CR each into CR LF, ends an
// unterminated last line, dot-stuffs, and appends the ".\r\n" terminator.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mta {

// The bytes to send after a 354 reply, terminator included.
std::string smtp_data(std::string_view content);

// Encodes incrementally: feed pieces in order, then finish(). The output
// equals smtp_data() of the concatenated pieces.
class SmtpDataEncoder {
public:
    void feed(std::string_view piece, std::string& out);
    void finish(std::string& out);

private:
    bool at_line_start_ = true;
    bool after_cr_ = false;
    bool empty_ = true;
};

// True when the content has a byte outside US-ASCII (needs 8BITMIME).
bool has_8bit(std::string_view content);

}  // namespace mta
