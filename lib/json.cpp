#include "json.hpp"

#include <fmt/format.h>

namespace mta::json {

namespace {
// Length of the valid UTF-8 sequence at s[i], 0 if invalid.
size_t utf8_length(std::string_view s, size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
    return n;
}
}  // namespace

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out += fmt::format("\\u{:04x}", c);
            } else if (c < 0x80) {
                out.push_back(char(c));
            } else if (size_t n = utf8_length(s, i)) {
                out.append(s.substr(i, n));
                i += n - 1;
            } else {
                out += fmt::format("\\u{:04x}", c);
            }
        }
    }
    return out + "\"";
}

void Object::key(std::string_view k) {
    if (body_.size() > 1) body_ += ',';
    body_ += quote(k);
    body_ += ':';
}

Object& Object::add(std::string_view k, std::string_view v) {
    key(k);
    body_ += quote(v);
    return *this;
}

Object& Object::add(std::string_view k, std::int64_t v) {
    key(k);
    body_ += std::to_string(v);
    return *this;
}

Object& Object::add(std::string_view k, bool v) {
    key(k);
    body_ += v ? "true" : "false";
    return *this;
}

Object& Object::add_raw(std::string_view k, std::string_view v) {
    key(k);
    body_ += v;
    return *this;
}

}  // namespace mta::json
