#include "smtp_data.hpp"

#include <cstring>

namespace mta {

// A line at a time: the bytes up to the next CR or LF are copied in one
// piece (memchr finds the ends), so a 100 KiB message costs a few thousand
// appends instead of a hundred thousand.
void SmtpDataEncoder::feed(std::string_view piece, std::string& out) {
    if (piece.empty()) return;
    out.reserve(out.size() + piece.size() + piece.size() / 32 + 8);
    empty_ = false;
    const char* p = piece.data();
    const char* const end = p + piece.size();
    if (after_cr_) {
        after_cr_ = false;
        if (*p == '\n') ++p;  // the LF of a CR LF already written
    }
    while (p < end) {
        const char* stop = static_cast<const char*>(std::memchr(p, '\n', size_t(end - p)));
        if (!stop) stop = end;
        if (const void* cr = std::memchr(p, '\r', size_t(stop - p))) stop = static_cast<const char*>(cr);
        if (stop > p) {
            if (at_line_start_ && *p == '.') out += '.';
            out.append(p, size_t(stop - p));
            at_line_start_ = false;
        }
        if (stop == end) break;
        out += "\r\n";
        at_line_start_ = true;
        p = stop + 1;
        if (*stop == '\r') {
            if (p == end) after_cr_ = true;
            else if (*p == '\n') ++p;
        }
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
    // Eight bytes at a time; the high bits of all of them in one test.
    const char* p = content.data();
    size_t n = content.size();
    while (n >= 64) {
        std::uint64_t acc = 0;
        for (int i = 0; i < 8; ++i) {
            std::uint64_t w;
            std::memcpy(&w, p + 8 * i, 8);
            acc |= w;
        }
        if (acc & 0x8080808080808080ull) return true;
        p += 64;
        n -= 64;
    }
    for (; n; ++p, --n)
        if (static_cast<unsigned char>(*p) >= 0x80) return true;
    return false;
}

}  // namespace mta
