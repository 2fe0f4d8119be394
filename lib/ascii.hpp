#pragma once
// Case in the protocols' sense: domains, local parts looked up in tables,
// SMTP verbs and keywords, header field names and configuration words
// compare without regard to the case of the ASCII letters A-Z and a-z.
// Every other octet, UTF-8 included, stays as it is (never the locale's
// rules: a program that called setlocale would fold Latin-1 octets too).

#include <string>
#include <string_view>

namespace mta::ascii {

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }
constexpr char upper(char c) { return c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c; }

inline std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = lower(c);
    return r;
}

inline std::string upper(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = upper(c);
    return r;
}

constexpr bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// Whether s begins with prefix, in either case.
constexpr bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequal(s.substr(0, prefix.size()), prefix);
}

}  // namespace mta::ascii
