// route_lookup: choosing the next hop for a domain (mta-route(8)).
//
// The order: local domains → kind local; the routes file (mta-routes(5));
// then DNS as RFC 5321 section 5 and RFC 7505 say: MX records by
// preference, equal preferences shuffled; no MX → the domain's own
// addresses as an implicit MX; the null MX → permanent 5.1.10; no such
// domain → permanent 5.1.2; a failed lookup → temporary 4.4.3 (never a
// fallback to the address records); an MX list naming this host → the
// hosts preferred over us, or 5.4.6 when there are none. DANE (RFC 7672)
// when the MX answer is DNSSEC-secure: TLSA records of _PORT._tcp.HOST.
#pragma once

#include "address.hpp"
#include "dns_resolver.hpp"
#include "route.hpp"
#include "routes_table.hpp"

#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace mta {

// --- the pure parts (no DNS), unit-tested ---

// Sorted by preference, the order within equal preferences shuffled.
std::vector<dns::Mx> order_mx(std::vector<dns::Mx> mx, std::mt19937& rng);

// True when the MX records are the RFC 7505 null MX: one record, target ".".
bool is_null_mx(const std::vector<dns::Mx>& mx);

// RFC 5321 section 5.1: when hosts listed are this host, drop every host
// whose preference is not lower than the best of ours. Returns the hosts
// left (empty: mail would loop). `self` says whether a host is this host.
std::vector<RouteHost> drop_self_and_worse(std::vector<RouteHost> hosts, const std::function<bool(const RouteHost&)>& self);

// The usable TLSA records for SMTP (RFC 7672 section 3.1.3): DANE-TA(2)
// and DANE-EE(3) with a known selector (0, 1) and matching type (0, 1, 2).
std::vector<Tlsa> usable_tlsa(const std::vector<Tlsa>& records);

// The input of one lookup: a domain, or an address whose domain is used.
// Throws Error (5.1.2/5.1.3) when s is neither.
Domain input_domain(std::string_view s);

// --- the lookup ---

struct RouteLookupOptions {
    std::vector<std::string> local_domains;  // lower-case
    std::string hostname;                    // ours, for the MX loop check
    std::vector<std::string> local_addresses;  // ours, textual
    bool ipv6 = true, ipv4 = true;
    bool dane = true;                        // look up TLSA when the answers are secure
    std::string default_tls = "may";
};

class RouteLookup {
public:
    RouteLookup(RouteLookupOptions o, const RoutesTable& table, dns::Resolver& resolver, std::mt19937& rng);

    // Never throws for DNS trouble: failures are routes of kind error.
    Route find(const Domain& domain, const std::optional<Address>& sender);

private:
    Route by_mx(const Domain& domain, const std::string& name, std::uint16_t port, Route r);
    Route direct(const Domain& domain, const std::vector<NextHop>& hops, Route r);
    void add_dane(Route& r, bool secure);
    bool is_self(const RouteHost& h) const;

    RouteLookupOptions o_;
    const RoutesTable& table_;
    dns::Resolver& dns_;
    std::mt19937& rng_;
    std::set<std::string> insecure_;  // hosts of this lookup whose addresses are not DNSSEC-secure
};

// The addresses of this host's interfaces (getifaddrs), textual.
std::vector<std::string> interface_addresses();

}  // namespace mta
