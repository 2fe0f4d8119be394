#include "routes_table.hpp"

#include "ascii.hpp"
#include "route.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mta {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The address in canonical text form, or "" when s is not an IP address.
std::string ip_address(std::string_view s) {
    std::string v(s);
    unsigned char buf[sizeof(struct in6_addr)];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, v.c_str(), buf) == 1) return inet_ntop(AF_INET, buf, out, sizeof out) ? out : "";
    if (inet_pton(AF_INET6, v.c_str(), buf) == 1) return inet_ntop(AF_INET6, buf, out, sizeof out) ? out : "";
    return "";
}

std::uint16_t parse_port(std::string_view s, std::string_view hop) {
    unsigned n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || n == 0 || n > 65535)
        throw Error::config("bad port in next hop " + std::string(hop));
    return std::uint16_t(n);
}

std::string host_name(std::string_view s, std::string_view hop) {
    auto d = Domain::try_parse(s);
    if (!d || d->is_literal()) throw Error::config("bad host name in next hop " + std::string(hop));
    return d->str();
}

}  // namespace

NextHop parse_next_hop(std::string_view s) {
    NextHop h;
    if (s == "-") return h;
    if (s.empty()) throw Error::config("empty next hop");
    std::string_view rest;
    if (s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos) throw Error::config("missing ']' in next hop " + std::string(s));
        std::string_view inner = s.substr(1, close - 1);
        if (inner.size() > 5 && ascii::istarts_with(inner, "ipv6:")) {
            inner.remove_prefix(5);
            h.host = ip_address(inner);
            if (h.host.find(':') == std::string::npos) throw Error::config("bad IPv6 address in next hop " + std::string(s));
        } else {
            h.host = ip_address(inner);
            if (h.host.empty()) h.host = host_name(inner, s);
        }
        h.kind = NextHop::Kind::direct;
        rest = s.substr(close + 1);
    } else {
        auto colon = s.find(':');
        if (colon != std::string_view::npos && s.find(':', colon + 1) != std::string_view::npos)
            throw Error::config("write an IPv6 next hop in brackets: [" + std::string(s) + "]");
        h.host = host_name(s.substr(0, colon), s);
        rest = colon == std::string_view::npos ? std::string_view() : s.substr(colon);
    }
    if (!rest.empty()) {
        if (rest.front() != ':') throw Error::config("junk after next hop host in " + std::string(s));
        h.port = parse_port(rest.substr(1), s);
    }
    return h;
}

RoutesTable RoutesTable::parse(std::string_view text, std::string_view filename) {
    RoutesTable t;
    int lineno = 0;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++lineno;
        auto where = [&](const std::string& why) {
            return Error::config(std::string(filename) + ":" + std::to_string(lineno) + ": " + why);
        };
        if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        // Fields, keeping the rest of the line for error text.
        std::vector<std::string_view> fields;
        std::vector<size_t> starts;
        for (size_t i = 0; i < line.size();) {
            while (i < line.size() && is_space(line[i])) ++i;
            if (i >= line.size()) break;
            size_t b = i;
            while (i < line.size() && !is_space(line[i])) ++i;
            fields.push_back(line.substr(b, i - b));
            starts.push_back(b);
        }
        if (fields.empty()) continue;
        if (fields.size() < 2) throw where("a rule needs a pattern and a next hop");

        RouteRule r;
        r.line = lineno;
        std::string pat = ascii::lower(fields[0]);
        if (pat == "*" || pat == "from:<>") {
        } else if (pat.rfind("from:@", 0) == 0) {
            auto d = Domain::try_parse(pat.substr(6));
            if (!d) throw where("bad sender domain in " + pat);
            pat = "from:@" + d->str();
        } else if (pat.rfind("from:", 0) == 0) {
            try {
                pat = "from:" + ascii::lower(Address::parse(pat.substr(5), {}).str());
            } catch (const Error& e) {
                throw where("bad sender address in " + pat + ": " + e.status().text);
            }
        } else {
            bool sub = pat.front() == '.';
            auto d = Domain::try_parse(sub ? std::string_view(pat).substr(1) : std::string_view(pat));
            if (!d || (sub && d->is_literal())) throw where("bad domain pattern " + pat);
            pat = (sub ? "." : "") + d->str();
        }
        r.pattern = pat;
        for (auto& o : t.rules_)
            if (o.pattern == pat) throw where(pat + " already has a rule on line " + std::to_string(o.line));

        std::string_view hop = fields[1];
        if (hop.rfind("error:", 0) == 0) {
            r.action = RouteRule::Action::error;
            std::string_view code = hop.substr(6);
            if (!is_enhanced_code(code) || code[0] == '2') throw where("error: needs an enhanced code 4.x.y or 5.x.y");
            std::string txt = fields.size() > 2 ? std::string(line.substr(starts[2])) : "";
            while (!txt.empty() && is_space(txt.back())) txt.pop_back();
            if (txt.empty()) txt = "mail for this domain is not accepted";
            r.error = code[0] == '4' ? Status::temporary(450, std::string(code), txt)
                                     : Status::permanent(550, std::string(code), txt);
            t.rules_.push_back(std::move(r));
            continue;
        }
        if (hop == "local") {
            r.action = RouteRule::Action::local;
        } else {
            std::string_view list = hop;
            while (true) {
                auto comma = list.find(',');
                try {
                    r.hops.push_back(parse_next_hop(list.substr(0, comma)));
                } catch (const Error& e) {
                    throw where(e.status().text);
                }
                if (comma == std::string_view::npos) break;
                list.remove_prefix(comma + 1);
            }
        }
        for (size_t i = 2; i < fields.size(); ++i) {
            std::string_view f = fields[i];
            if (f.rfind("tls=", 0) == 0 && is_tls_policy(f.substr(4))) {
                r.tls = f.substr(4);
            } else if (f.rfind("auth=", 0) == 0 && f.size() > 5) {
                r.auth = f.substr(5);
            } else {
                throw where("unknown option " + std::string(f) +
                            " (tls=none|may|encrypt|verify|dane, auth=NAME)");
            }
        }
        if (r.action == RouteRule::Action::local && (!r.tls.empty() || !r.auth.empty()))
            throw where("a local rule takes no options");
        t.rules_.push_back(std::move(r));
    }
    return t;
}

RoutesTable RoutesTable::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) return {};
        throw Error::config("cannot read " + path + ": " + std::strerror(errno));
    }
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) throw Error::config("cannot read " + path);
    return parse(s.str(), path);
}

const RouteRule* RoutesTable::find(std::string_view pattern) const {
    for (auto& r : rules_)
        if (r.pattern == pattern) return &r;
    return nullptr;
}

const RouteRule* RoutesTable::match_recipient(const Domain& domain) const {
    const std::string& d = domain.str();
    if (auto r = find(d)) return r;
    if (!domain.is_literal())
        for (auto dot = d.find('.'); dot != std::string::npos; dot = d.find('.', dot + 1))
            if (auto r = find(std::string_view(d).substr(dot))) return r;
    return nullptr;
}

bool RoutesTable::has_sender_rules() const {
    for (auto& r : rules_)
        if (r.pattern.starts_with("from:")) return true;
    return false;
}

const RouteRule* RoutesTable::match(const Domain& domain, const std::optional<Address>& sender) const {
    if (auto r = match_recipient(domain)) return r;
    if (sender) {
        if (sender->is_null()) {
            if (auto r = find("from:<>")) return r;
        } else {
            if (auto r = find("from:" + ascii::lower(sender->str()))) return r;
            if (auto r = find("from:@" + sender->domain().str())) return r;
        }
    }
    return find("*");
}

}  // namespace mta
