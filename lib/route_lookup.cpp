#include "route_lookup.hpp"

#include "ascii.hpp"
#include "log.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

namespace mta {

namespace {

constexpr size_t max_mx_hosts = 16;  // address lookups per route, at most

Route error_route(Route r, Status s) {
    r.kind = RouteKind::error;
    r.hosts.clear();
    r.tlsa.clear();
    r.host_tls.clear();
    r.auth.clear();
    r.error = std::move(s);
    return r;
}

Status dns_failure(const std::string& why) { return Status::temporary(451, "4.4.3", "DNS lookup failure: " + why); }

// "[192.0.2.1]" or "[IPv6:2001:db8::1]" → the address, else "".
std::string literal_address(const Domain& d) {
    if (!d.is_literal()) return "";
    std::string v = d.str().substr(1, d.str().size() - 2);
    if (v.rfind("IPv6:", 0) == 0) v = v.substr(5);
    unsigned char b[sizeof(struct in6_addr)];
    char out[INET6_ADDRSTRLEN];
    int af = v.find(':') == std::string::npos ? AF_INET : AF_INET6;
    if (inet_pton(af, v.c_str(), b) != 1 || !inet_ntop(af, b, out, sizeof out)) return "";
    return out;
}

}  // namespace

std::vector<dns::Mx> order_mx(std::vector<dns::Mx> mx, std::mt19937& rng) {
    std::shuffle(mx.begin(), mx.end(), rng);
    std::stable_sort(mx.begin(), mx.end(), [](const dns::Mx& a, const dns::Mx& b) { return a.preference < b.preference; });
    return mx;
}

bool is_null_mx(const std::vector<dns::Mx>& mx) { return mx.size() == 1 && mx[0].host.empty(); }

std::vector<RouteHost> drop_self_and_worse(std::vector<RouteHost> hosts,
                                           const std::function<bool(const RouteHost&)>& self) {
    std::optional<int> ours;
    for (auto& h : hosts)
        if (self(h) && (!ours || h.preference < *ours)) ours = h.preference;
    if (!ours) return hosts;
    std::vector<RouteHost> out;
    for (auto& h : hosts)
        if (h.preference < *ours) out.push_back(std::move(h));
    return out;
}

std::vector<Tlsa> usable_tlsa(const std::vector<Tlsa>& records) {
    std::vector<Tlsa> out;
    for (auto& t : records) {
        bool ok = (t.usage == 2 || t.usage == 3) && (t.selector == 0 || t.selector == 1) && t.mtype >= 0 &&
                  t.mtype <= 2 && !t.data.empty();
        // The digest must have the length its matching type says.
        if (ok && t.mtype == 1) ok = t.data.size() == 64;
        if (ok && t.mtype == 2) ok = t.data.size() == 128;
        if (ok) out.push_back(t);
    }
    return out;
}

Domain input_domain(std::string_view s) {
    if (s.find('@') != std::string_view::npos) {
        Address a = Address::parse(s, {.allow_null = false, .allow_bare_local = false, .utf8 = true});
        for (unsigned char c : a.domain().str())
            if (c >= 0x80)
                throw Error(Status::permanent(553, "5.1.2", "write the domain of " + std::string(s) + " in A-labels"),
                            ex::dataerr);
        return a.domain();
    }
    if (s.size() > 1 && s.back() == '.') s.remove_suffix(1);  // an absolute name
    return Domain::parse(s);
}

std::vector<std::string> interface_addresses() {
    std::vector<std::string> out;
    struct ifaddrs* ifa = nullptr;
    if (getifaddrs(&ifa) != 0) return out;
    for (auto* p = ifa; p; p = p->ifa_next) {
        if (!p->ifa_addr) continue;
        char buf[INET6_ADDRSTRLEN];
        if (p->ifa_addr->sa_family == AF_INET) {
            auto* sin = reinterpret_cast<struct sockaddr_in*>(p->ifa_addr);
            if (inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) out.emplace_back(buf);
        } else if (p->ifa_addr->sa_family == AF_INET6) {
            auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(p->ifa_addr);
            if (inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf)) out.emplace_back(buf);
        }
    }
    freeifaddrs(ifa);
    return out;
}

RouteLookup::RouteLookup(RouteLookupOptions o, const RoutesTable& table, dns::Resolver& resolver, std::mt19937& rng)
    : o_(std::move(o)), table_(table), dns_(resolver), rng_(rng) {
    o_.hostname = ascii::lower(o_.hostname);
}

bool RouteLookup::is_self(const RouteHost& h) const {
    if (!o_.hostname.empty() && ascii::lower(h.name) == o_.hostname) return true;
    for (auto& a : h.addresses)
        if (std::find(o_.local_addresses.begin(), o_.local_addresses.end(), a) != o_.local_addresses.end()) return true;
    return false;
}

Route RouteLookup::find(const Domain& domain, const std::optional<Address>& sender) {
    insecure_.clear();
    Route r;
    r.domain = domain.str();
    r.tls = o_.default_tls;
    std::string literal = literal_address(domain);
    bool local = std::find(o_.local_domains.begin(), o_.local_domains.end(), domain.str()) != o_.local_domains.end() ||
                 (!literal.empty() && std::find(o_.local_addresses.begin(), o_.local_addresses.end(), literal) !=
                                          o_.local_addresses.end());
    if (local) {
        r.kind = RouteKind::local;
        return r;
    }
    r.ask_sender = !sender && table_.has_sender_rules() && !table_.match_recipient(domain);
    if (const RouteRule* rule = table_.match(domain, sender)) {
        switch (rule->action) {
        case RouteRule::Action::local: r.kind = RouteKind::local; return r;
        case RouteRule::Action::error: return error_route(r, rule->error);
        case RouteRule::Action::forward: break;
        }
        if (!rule->tls.empty()) r.tls = rule->tls;
        r.auth = rule->auth;
        if (rule->hops.size() == 1 && rule->hops[0].kind == NextHop::Kind::mx && rule->hops[0].host.empty()) {
            r.kind = RouteKind::mx;  // "-": the domain's own MX, with this rule's options
            return by_mx(domain, domain.str(), rule->hops[0].port, r);
        }
        r.kind = RouteKind::relay;
        return direct(domain, rule->hops, r);
    }
    r.kind = RouteKind::mx;
    if (!literal.empty()) {
        r.hosts.push_back({domain.str(), 25, 0, {literal}});
        if (r.tls == "dane") r.tls = "may";
        return r;
    }
    return by_mx(domain, domain.str(), 25, r);
}

// The hosts of a routes-file rule, in the order written.
Route RouteLookup::direct(const Domain& domain, const std::vector<NextHop>& hops, Route r) {
    std::optional<Status> failure;
    std::vector<RouteHost> hosts;
    bool secure = true;
    for (size_t i = 0; i < hops.size(); ++i) {
        const NextHop& h = hops[i];
        if (h.kind == NextHop::Kind::mx) {
            Route sub = by_mx(domain, h.host.empty() ? domain.str() : h.host, h.port, r);
            if (sub.kind == RouteKind::error) {
                if (!failure || sub.error.outcome == Outcome::temporary) failure = sub.error;
                continue;
            }
            for (auto& x : sub.hosts) hosts.push_back(std::move(x));
            r.tls = sub.tls;
            r.tlsa.insert(r.tlsa.end(), sub.tlsa.begin(), sub.tlsa.end());
            r.host_tls.insert(r.host_tls.end(), sub.host_tls.begin(), sub.host_tls.end());
            continue;
        }
        RouteHost rh{h.host, h.port, int(i), {}};
        unsigned char b[sizeof(struct in6_addr)];
        bool v4 = inet_pton(AF_INET, h.host.c_str(), b) == 1;
        if (v4 || inet_pton(AF_INET6, h.host.c_str(), b) == 1) {
            rh.name = v4 ? "[" + h.host + "]" : "[IPv6:" + h.host + "]";  // an address literal names the host
            rh.addresses.push_back(h.host);
            secure = false;  // no TLSA for an address
        } else {
            auto a = dns_.addresses(h.host, o_.ipv6, o_.ipv4);
            if (a.found != dns::Found::yes) {
                Status s = a.found == dns::Found::failed
                               ? dns_failure(a.error)
                               : Status::permanent(550, "5.4.4", "relay host " + h.host + " has no address");
                if (!failure || s.outcome == Outcome::temporary) failure = s;
                continue;
            }
            secure = secure && a.secure;
            rh.addresses = a.records;
        }
        hosts.push_back(std::move(rh));
    }
    if (hosts.empty()) return error_route(r, failure ? *failure : Status::permanent(550, "5.4.4", "no relay host"));
    bool any_direct = std::any_of(hops.begin(), hops.end(), [](auto& h) { return h.kind == NextHop::Kind::direct; });
    r.hosts = std::move(hosts);
    if (any_direct) {
        r.tlsa.clear();
        if (r.tls == "dane") r.tls = "may";
        add_dane(r, secure && hops.size() == 1);
    }
    return r;
}

Route RouteLookup::by_mx(const Domain& domain, const std::string& name, std::uint16_t port, Route r) {
    bool relay_host = name != domain.str();
    auto m = dns_.mx(name);
    bool secure = m.secure;
    std::vector<RouteHost> hosts;
    bool address_failed = false;
    std::string address_error;
    switch (m.found) {
    case dns::Found::failed:
        log::warning("{}: {}", domain.str(), m.error);
        return error_route(r, dns_failure(m.error));
    case dns::Found::no_domain:
        return error_route(r, relay_host ? Status::permanent(550, "5.4.4", "relay host " + name + " does not exist")
                                         : Status::permanent(550, "5.1.2", "domain " + name + " does not exist"));
    case dns::Found::no_data: {
        // RFC 5321 section 5.1: no MX, so the name itself is the implicit MX.
        auto a = dns_.addresses(name, o_.ipv6, o_.ipv4);
        if (a.found == dns::Found::failed) {
            log::warning("{}: {}", domain.str(), a.error);
            return error_route(r, dns_failure(a.error));
        }
        if (a.found != dns::Found::yes)
            return error_route(r, Status::permanent(550, relay_host ? "5.4.4" : "5.1.2",
                                                    name + " has no MX and no address record"));
        hosts.push_back({name, port, 0, a.records});
        secure = secure && a.secure;
        break;
    }
    case dns::Found::yes: {
        if (is_null_mx(m.records))
            return error_route(r, Status::permanent(556, "5.1.10", "domain " + name + " does not accept mail (null MX)"));
        std::vector<dns::Mx> list;
        for (auto& x : m.records)  // a target that is no host name could not be written in a route line
            if (!x.host.empty() && Domain::try_parse(x.host) && !Domain::try_parse(x.host)->is_literal())
                list.push_back(x);
        list = order_mx(std::move(list), rng_);
        if (list.size() > max_mx_hosts) list.resize(max_mx_hosts);
        for (auto& x : list) {
            RouteHost h{x.host, port, x.preference, {}};
            auto a = dns_.addresses(x.host, o_.ipv6, o_.ipv4);
            if (a.found == dns::Found::failed) {
                address_failed = true;
                address_error = a.error;
            }
            h.addresses = a.records;
            if (!a.secure) insecure_.insert(x.host);
            hosts.push_back(std::move(h));
        }
        break;
    }
    }
    hosts = drop_self_and_worse(std::move(hosts), [this](const RouteHost& h) { return is_self(h); });
    if (hosts.empty()) {
        log::warning("{}: mail for {} loops back to myself", domain.str(), name);
        return error_route(r, Status::permanent(554, "5.4.6", "mail for " + name + " loops back to myself"));
    }
    std::erase_if(hosts, [](const RouteHost& h) { return h.addresses.empty(); });
    if (hosts.empty()) {
        if (address_failed) return error_route(r, dns_failure(address_error));
        return error_route(r, Status::permanent(550, "5.4.4", "no MX host of " + name + " has an address"));
    }
    r.hosts = std::move(hosts);
    add_dane(r, secure);
    return r;
}

void RouteLookup::add_dane(Route& r, bool secure) {
    bool wanted = r.tls == "may" || r.tls == "dane";
    if (!wanted) return;
    r.tlsa.clear();
    r.host_tls.clear();
    if (!o_.dane || !dns_.trusts_ad() || !secure) {
        if (r.tls == "dane") r.tls = "may";  // opportunistic DANE without DNSSEC: plain opportunistic TLS
        return;
    }
    std::vector<RouteHost> kept;
    std::vector<Route::HostTls> policies;  // hosts with a policy stronger than may
    std::vector<Tlsa> all;
    bool all_dane = true, all_secure = true;
    std::string failed;
    for (auto& h : r.hosts) {
        if (insecure_.count(h.name)) {
            // RFC 7672 section 2.2.2: no TLSA lookup for a host whose addresses are not secure.
            kept.push_back(h);
            all_dane = all_secure = false;
            continue;
        }
        auto t = dns_.tlsa("_" + std::to_string(h.port) + "._tcp." + h.name);
        if (t.found == dns::Found::failed) {
            // RFC 7672 section 2.2: a host whose TLSA records cannot be looked up is not used.
            failed = t.error;
            continue;
        }
        kept.push_back(h);
        if (t.found != dns::Found::yes || !t.secure) {
            all_dane = all_secure = false;
            continue;
        }
        auto u = usable_tlsa(t.records);
        bool seen = std::any_of(policies.begin(), policies.end(), [&](auto& p) { return p.host == h.name; });
        if (!seen) policies.push_back({h.name, u.empty() ? "encrypt" : "dane", u});
        if (u.empty()) all_dane = false;
        for (auto& x : u) {
            bool dup = std::any_of(all.begin(), all.end(), [&](const Tlsa& y) {
                return y.usage == x.usage && y.selector == x.selector && y.mtype == x.mtype && y.data == x.data;
            });
            if (!dup) all.push_back(x);
        }
    }
    if (kept.empty()) {
        r = error_route(r, dns_failure(failed));
        return;
    }
    r.hosts = std::move(kept);
    // The route's policy is the one safe for every host: DANE when every
    // host has usable TLSA records, mandatory TLS when every host has a
    // secure TLSA record set (RFC 7672 section 2.2), otherwise
    // opportunistic TLS. Hosts that deserve more say so in host_tls.
    if (all_dane) {
        r.tls = "dane";
        r.tlsa = std::move(all);
        return;
    }
    r.tls = all_secure ? "encrypt" : "may";
    for (auto& p : policies)
        if (p.tls != r.tls) r.host_tls.push_back(std::move(p));
}

}  // namespace mta
