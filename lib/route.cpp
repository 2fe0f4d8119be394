#include "route.hpp"

#include "address.hpp"
#include "json.hpp"

#include <arpa/inet.h>
#include <cctype>
#include <charconv>

namespace mta {

namespace {

template <typename T>
T number(std::string_view v, std::string_view what) {
    T n{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size()) throw Error::data("route: bad " + std::string(what));
    return n;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
        auto p = s.find(sep);
        out.push_back(s.substr(0, p));
        if (p == std::string_view::npos) break;
        s.remove_prefix(p + 1);
    }
    return out;
}

bool valid_ip(std::string_view a) {
    unsigned char buf[16];
    std::string s(a);
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool valid_host_name(std::string_view h) { return Domain::try_parse(h, true).has_value(); }

bool hex(std::string_view s) {
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return !s.empty();
}

}  // namespace

std::string_view to_string(RouteKind k) {
    switch (k) {
    case RouteKind::local: return "local";
    case RouteKind::relay: return "relay";
    case RouteKind::mx: return "mx";
    case RouteKind::error: return "error";
    }
    return "error";
}

bool is_tls_policy(std::string_view s) {
    return s == "none" || s == "may" || s == "encrypt" || s == "verify" || s == "dane";
}

std::string Route::str() const {
    std::string out = "domain=" + domain + " kind=" + std::string(to_string(kind));
    if (ask_sender) out += " sender=ask";
    if (kind == RouteKind::error) {
        out += " result=" + std::string(to_string(error.outcome)) + " code=" + std::to_string(error.code) +
               " enhanced=" + error.enhanced + " text=";
        for (char c : error.text) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
        return out;
    }
    if (kind == RouteKind::local) return out;
    out += " tls=" + tls;
    if (!auth.empty()) out += " auth=" + auth;
    for (auto& h : hosts) {
        out += " host=" + h.name + "/" + std::to_string(h.port) + "/" + std::to_string(h.preference) + "/";
        for (size_t i = 0; i < h.addresses.size(); ++i) out += (i ? "," : "") + h.addresses[i];
    }
    auto record = [](const Tlsa& t) {
        return std::to_string(t.usage) + "/" + std::to_string(t.selector) + "/" + std::to_string(t.mtype) + "/" + t.data;
    };
    for (auto& t : tlsa) out += " tlsa=" + record(t);
    for (auto& h : host_tls) {
        if (!h.tls.empty()) out += " hosttls=" + h.host + "/" + h.tls;
        for (auto& t : h.tlsa) out += " hosttlsa=" + h.host + "/" + record(t);
    }
    return out;
}

std::string Route::json() const {
    json::Object o;
    o.add("domain", domain).add("kind", to_string(kind));
    if (ask_sender) o.add("sender", "ask");
    if (kind == RouteKind::error) {
        o.add("result", to_string(error.outcome)).add("code", error.code).add("enhanced", error.enhanced).add("text", error.text);
        return o.str();
    }
    if (kind == RouteKind::local) return o.str();
    o.add("tls", tls);
    if (!auth.empty()) o.add("auth", auth);
    std::string hs = "[";
    for (size_t i = 0; i < hosts.size(); ++i) {
        std::string as = "[";
        for (size_t k = 0; k < hosts[i].addresses.size(); ++k) as += (k ? "," : "") + json::quote(hosts[i].addresses[k]);
        as += "]";
        hs += (i ? "," : "") + json::Object()
                                   .add("name", hosts[i].name)
                                   .add("port", int(hosts[i].port))
                                   .add("preference", hosts[i].preference)
                                   .add_raw("addresses", as)
                                   .str();
    }
    o.add_raw("hosts", hs + "]");
    if (!tlsa.empty()) {
        std::string ts = "[";
        for (size_t i = 0; i < tlsa.size(); ++i)
            ts += (i ? "," : "") + json::Object()
                                       .add("usage", tlsa[i].usage)
                                       .add("selector", tlsa[i].selector)
                                       .add("mtype", tlsa[i].mtype)
                                       .add("data", tlsa[i].data)
                                       .str();
        o.add_raw("tlsa", ts + "]");
    }
    if (!host_tls.empty()) {
        std::string hs2 = "[";
        for (size_t i = 0; i < host_tls.size(); ++i) {
            std::string ts = "[";
            for (size_t k = 0; k < host_tls[i].tlsa.size(); ++k) {
                auto& t = host_tls[i].tlsa[k];
                ts += (k ? "," : "") + json::Object()
                                           .add("usage", t.usage)
                                           .add("selector", t.selector)
                                           .add("mtype", t.mtype)
                                           .add("data", t.data)
                                           .str();
            }
            json::Object h;
            h.add("host", host_tls[i].host);
            if (!host_tls[i].tls.empty()) h.add("tls", host_tls[i].tls);
            h.add_raw("tlsa", ts + "]");
            hs2 += (i ? "," : "") + h.str();
        }
        o.add_raw("host_tls", hs2 + "]");
    }
    return o.str();
}

Route parse_route(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    Route r;
    bool have_domain = false, have_kind = false;
    while (!line.empty()) {
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        if (line.empty()) break;
        auto eq = line.find('=');
        if (eq == std::string_view::npos) throw Error::data("route: token without '='");
        std::string_view key = line.substr(0, eq);
        if (key == "text") {
            r.error.text = line.substr(eq + 1);
            for (char& c : r.error.text)
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
            break;
        }
        auto sp = line.find(' ', eq);
        std::string_view v = line.substr(eq + 1, sp == std::string_view::npos ? sp : sp - eq - 1);
        line.remove_prefix(sp == std::string_view::npos ? line.size() : sp);
        for (char c : v)
            if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) throw Error::data("route: control character");
        if (key == "domain") {
            if (!valid_host_name(v)) throw Error::data("route: bad domain");
            r.domain = v;
            have_domain = true;
        } else if (key == "sender") {
            if (v != "ask") throw Error::data("route: bad sender " + std::string(v));
            r.ask_sender = true;
        } else if (key == "kind") {
            have_kind = true;
            if (v == "local") r.kind = RouteKind::local;
            else if (v == "relay") r.kind = RouteKind::relay;
            else if (v == "mx") r.kind = RouteKind::mx;
            else if (v == "error") r.kind = RouteKind::error;
            else throw Error::data("route: bad kind " + std::string(v));
        } else if (key == "tls") {
            if (!is_tls_policy(v)) throw Error::data("route: bad tls policy " + std::string(v));
            r.tls = v;
        } else if (key == "auth") {
            if (v.empty()) throw Error::data("route: empty auth");
            r.auth = v;
        } else if (key == "host") {
            auto parts = split(v, '/');
            if (parts.size() != 4 || parts[0].empty()) throw Error::data("route: bad host " + std::string(v));
            if (!valid_host_name(parts[0])) throw Error::data("route: bad host name");
            RouteHost h;
            h.name = parts[0];
            h.port = number<std::uint16_t>(parts[1], "port");
            h.preference = number<int>(parts[2], "preference");
            if (!parts[3].empty())
                for (auto a : split(parts[3], ',')) {
                    if (!valid_ip(a)) throw Error::data("route: bad address " + std::string(a));
                    h.addresses.emplace_back(a);
                }
            r.hosts.push_back(std::move(h));
        } else if (key == "tlsa") {
            auto parts = split(v, '/');
            if (parts.size() != 4 || !hex(parts[3])) throw Error::data("route: bad tlsa " + std::string(v));
            r.tlsa.push_back({number<int>(parts[0], "tlsa usage"), number<int>(parts[1], "tlsa selector"),
                              number<int>(parts[2], "tlsa type"), std::string(parts[3])});
        } else if (key == "hosttls" || key == "hosttlsa") {
            auto slash = v.find('/');
            if (slash == std::string_view::npos || !valid_host_name(v.substr(0, slash)))
                throw Error::data("route: bad " + std::string(key));
            std::string_view host = v.substr(0, slash), rest = v.substr(slash + 1);
            Route::HostTls* h = nullptr;
            for (auto& x : r.host_tls)
                if (x.host == host) h = &x;
            if (!h) h = &r.host_tls.emplace_back(Route::HostTls{std::string(host), "", {}});
            if (key == "hosttls") {
                if (!is_tls_policy(rest)) throw Error::data("route: bad tls policy " + std::string(rest));
                h->tls = rest;
            } else {
                auto parts = split(rest, '/');
                if (parts.size() != 4 || !hex(parts[3])) throw Error::data("route: bad hosttlsa " + std::string(v));
                h->tlsa.push_back({number<int>(parts[0], "tlsa usage"), number<int>(parts[1], "tlsa selector"),
                                   number<int>(parts[2], "tlsa type"), std::string(parts[3])});
            }
        } else if (key == "result") {
            r.error.outcome = parse_outcome(v);
        } else if (key == "code") {
            r.error.code = number<int>(v, "code");
        } else if (key == "enhanced") {
            if (!is_enhanced_code(v)) throw Error::data("route: bad enhanced code");
            r.error.enhanced = v;
        }
        // Unknown keys are ignored: newer mta-route versions may add some.
    }
    if (!have_domain || !have_kind) throw Error::data("route: needs domain= and kind=");
    if ((r.kind == RouteKind::mx || r.kind == RouteKind::relay) && r.hosts.empty())
        throw Error::data("route: " + std::string(to_string(r.kind)) + " route without hosts");
    if (r.kind == RouteKind::error && r.error.outcome == Outcome::ok)
        throw Error::data("route: error route without result");
    return r;
}

}  // namespace mta
