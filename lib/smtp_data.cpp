#include "smtp_data.hpp"

namespace mta {

void SmtpDataEncoder::feed(std::string_view piece, std::string& out) {
    out.reserve(out.size() + piece.size() + piece.size() / 32 + 8);
    for (char c : piece) {
        empty_ = false;
        if (after_cr_) {
            after_cr_ = false;
            if (c == '\n') continue;  // the LF of a CR LF already written
        }
        if (c == '\r' || c == '\n') {
            out += "\r\n";
            at_line_start_ = true;
            after_cr_ = c == '\r';
            continue;
        }
        if (at_line_start_ && c == '.') out += '.';
        at_line_start_ = false;
        out += c;
    }
}

void SmtpDataEncoder::finish(std::string& out) {
    if (!empty_ && !at_line_start_) out += "\r\n";
    out += ".\r\n";
    at_line_start_ = true;
    after_cr_ = false;
    empty_ = true;
}

std::string smtp_data(std::string_view content) {
    std::string out;
    SmtpDataEncoder e;
    e.feed(content, out);
    e.finish(out);
    return out;
}

bool has_8bit(std::string_view content) {
    for (char c : content)
        if (static_cast<unsigned char>(c) >= 0x80) return true;
    return false;
}

}  // namespace mta
