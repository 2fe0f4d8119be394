#include "address.hpp"

#include "ascii.hpp"
#include "status.hpp"

#include <arpa/inet.h>
#include <cctype>

namespace mta {

namespace {

constexpr size_t max_local = 64, max_domain = 255, max_path = 256;

Error bad(std::string_view enhanced, std::string text) {
    return Error(Status::permanent(501, std::string(enhanced), std::move(text)), ex::dataerr);
}

bool is_atext(unsigned char c, bool utf8) {
    if (c >= 0x80) return utf8;
    if (std::isalnum(c)) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(char(c)) != std::string_view::npos;
}

bool valid_label(std::string_view l, bool utf8) {
    if (l.empty() || l.size() > 63) return false;
    for (unsigned char c : l) {
        if (c >= 0x80) {
            if (!utf8) return false;
        } else if (!std::isalnum(c) && c != '-') {
            return false;
        }
    }
    return l.front() != '-' && l.back() != '-';
}

bool valid_literal(std::string_view s) {
    // s without the brackets
    char buf[sizeof(struct in6_addr)];
    std::string v(s);
    if (v.size() > 5 && ascii::istarts_with(v, "ipv6:")) return inet_pton(AF_INET6, v.c_str() + 5, buf) == 1;
    return inet_pton(AF_INET, v.c_str(), buf) == 1;
}

}  // namespace

bool is_dot_string(std::string_view s, bool utf8) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    char prev = 0;
    for (char c : s) {
        if (c == '.') {
            if (prev == '.') return false;
        } else if (!is_atext(static_cast<unsigned char>(c), utf8)) {
            return false;
        }
        prev = c;
    }
    return true;
}

std::optional<Domain> Domain::try_parse(std::string_view s, bool utf8) {
    if (s.empty() || s.size() > max_domain) return std::nullopt;
    Domain d;
    if (s.front() == '[') {
        if (s.back() != ']' || !valid_literal(s.substr(1, s.size() - 2))) return std::nullopt;
        d.name_ = ascii::lower(s);
        if (d.name_.substr(0, 6) == "[ipv6:") d.name_.replace(1, 4, "IPv6");
        return d;
    }
    std::string_view rest = s;
    if (rest.back() == '.') return std::nullopt;
    while (true) {
        auto dot = rest.find('.');
        if (!valid_label(rest.substr(0, dot), utf8)) return std::nullopt;
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    d.name_ = ascii::lower(s);
    return d;
}

Domain Domain::parse(std::string_view s, bool utf8) {
    auto d = try_parse(s, utf8);
    if (!d) throw bad("5.1.2", "invalid domain: " + std::string(s.substr(0, 80)));
    return *d;
}

bool Domain::within(const Domain& d) const {
    if (name_ == d.name_) return true;
    return name_.size() > d.name_.size() + 1 && name_.compare(name_.size() - d.name_.size(), d.name_.size(), d.name_) == 0 &&
           name_[name_.size() - d.name_.size() - 1] == '.';
}

Address Address::parse(std::string_view s, Options o) {
    if (!s.empty() && s.front() == '<') return parse_path(s, o);
    return parse_path("<" + std::string(s) + ">", o);
}

Address Address::parse_path(std::string_view s, Options o) {
    if (s.size() > max_path + 2) throw bad("5.1.3", "address too long");
    if (s.size() < 2 || s.front() != '<' || s.back() != '>') throw bad("5.1.3", "address must be in <>");
    std::string_view in = s.substr(1, s.size() - 2);
    if (in.empty()) {
        if (!o.allow_null) throw bad("5.1.3", "null address not allowed here");
        return Address();
    }
    // A-d-l: "@host,@host:" — accepted and dropped (RFC 5321 4.1.2, C).
    if (in.front() == '@') {
        auto colon = in.find(':');
        if (colon == std::string_view::npos) throw bad("5.1.3", "bad source route");
        std::string_view route = in.substr(0, colon);
        while (!route.empty()) {
            if (route.front() != '@') throw bad("5.1.3", "bad source route");
            auto comma = route.find(',');
            if (!Domain::try_parse(route.substr(1, comma - 1), o.utf8)) throw bad("5.1.3", "bad source route");
            if (comma == std::string_view::npos) break;
            route.remove_prefix(comma + 1);
        }
        in.remove_prefix(colon + 1);
    }
    Address a;
    size_t i = 0;
    if (!in.empty() && in.front() == '"') {
        std::string value;
        for (i = 1; i < in.size() && in[i] != '"'; ++i) {
            unsigned char c = static_cast<unsigned char>(in[i]);
            if (c == '\\') {
                if (++i >= in.size()) throw bad("5.1.3", "bad quoted local part");
                c = static_cast<unsigned char>(in[i]);
                if (c < 32 || c == 127 || (c >= 0x80 && !o.utf8)) throw bad("5.1.3", "bad quoted local part");
            } else if (c < 32 || c == 127 || (c >= 0x80 && !o.utf8)) {
                throw bad("5.1.3", "bad character in quoted local part");
            }
            value.push_back(char(c));
        }
        if (i >= in.size()) throw bad("5.1.3", "unterminated quoted local part");
        ++i;  // closing quote
        a.local_ = std::move(value);
        if (a.local_.empty()) throw bad("5.1.3", "empty local part");
    } else {
        auto at = in.rfind('@');
        i = at == std::string_view::npos ? in.size() : at;
        std::string_view local = in.substr(0, i);
        if (!is_dot_string(local, o.utf8)) throw bad("5.1.3", "bad local part");
        a.local_ = std::string(local);
    }
    if (a.local_.size() > max_local) throw bad("5.1.3", "local part too long");
    if (i == in.size()) {
        if (!o.allow_bare_local) throw bad("5.1.3", "address needs a domain");
        return a;
    }
    if (in[i] != '@') throw bad("5.1.3", "bad address");
    a.domain_ = Domain::parse(in.substr(i + 1), o.utf8);
    return a;
}

std::string Address::str() const {
    if (is_null()) return "";
    std::string l;
    if (is_dot_string(local_, true)) {
        l = local_;
    } else {
        l = "\"";
        for (char c : local_) {
            if (c == '"' || c == '\\') l.push_back('\\');
            l.push_back(c);
        }
        l.push_back('"');
    }
    if (domain_.empty()) return l;
    return l + "@" + domain_.str();
}

bool Address::is_postmaster() const { return ascii::lower(local_) == "postmaster"; }

bool Address::is_utf8() const {
    for (unsigned char c : local_ + domain_.str())
        if (c >= 0x80) return true;
    return false;
}

}  // namespace mta
