// dns_resolver: the DNS questions mta-route asks, through ldns.
//
// A stub resolver: it sends recursive queries to the name servers of
// /etc/resolv.conf or to the ones given, retries over TCP when a UDP
// answer is truncated, reads each answer with dns_answer.hpp, asks again
// for the target of a CNAME chain that leaves the answer, and reports each
// lookup as found, no data, no such domain, or failed (SERVFAIL, REFUSED,
// timeout, malformed answer: try later).
//
// DNSSEC: queries carry the DO bit; a lookup is `secure` when every answer
// on the way had the AD bit set AND every configured name server is on
// loopback. The AD bit means "validated" only when the path to the
// validating resolver cannot be tampered with.
#pragma once

#include "dns_answer.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mta::dns {

struct ResolverOptions {
    std::vector<std::string> servers;  // "ADDR" or "ADDR:PORT" or "[ADDR]:PORT"; empty: /etc/resolv.conf
    int timeout = 5;                   // seconds per try
    int attempts = 2;                  // tries per server
    bool dnssec = true;                // ask for (and trust) the AD bit
    std::function<void(const std::string&)> trace;  // when set: one line per query and its answer
};

class Resolver {
public:
    // Throws Error::config when no usable name server is configured.
    explicit Resolver(const ResolverOptions& o);
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // True when AD bits are believed: DNSSEC on and every server on loopback.
    bool trusts_ad() const { return trust_ad_; }

    Lookup<Mx> mx(const std::string& name);
    // AAAA (when v6) then A (when v4), textual addresses.
    Lookup<std::string> addresses(const std::string& name, bool v6, bool v4);
    Lookup<Tlsa> tlsa(const std::string& name);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    bool trust_ad_ = false;
};

// "ADDR", "ADDR:PORT" or "[ADDR]:PORT" → address and port (53 if none).
// Throws Error::usage.
std::pair<std::string, std::uint16_t> parse_server(const std::string& s);

}  // namespace mta::dns
