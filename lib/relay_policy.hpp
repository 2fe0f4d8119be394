// relay_policy: which recipients mta-recv accepts, decided at RCPT time.
//
// Mail for a local domain is accepted only for a mailbox that exists
// (lib/local_recipient.hpp), so that unknown users are refused with
// 550 5.1.1 instead of bounced later; postmaster always exists. Mail for
// any other domain is relayed only for a client that may relay: an
// authenticated one, one from a trusted network, one started with
// RELAYCLIENT set (UCSPI), or a local submitter; otherwise 554 5.7.1.
// Nothing routes on `%`, `!`, a quoted `@` or a source route: those are
// plain characters of a local part, or dropped by the address parser.
#pragma once

#include "address.hpp"
#include "local_recipient.hpp"
#include "status.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

// An address block: "192.0.2.0/24", "2001:db8::/32", "127.0.0.1", "::1".
class Network {
public:
    // Throws Error (config) when s is not one.
    static Network parse(std::string_view s);
    bool contains(std::string_view ip) const;

private:
    int family_ = 0;
    std::array<unsigned char, 16> addr_{};
    int prefix_ = 0;
};

// True when ip is in one of the networks.
bool in_networks(const std::vector<Network>& nets, std::string_view ip);

class RelayPolicy {
public:
    RelayPolicy(std::vector<std::string> local_domains, local_recipient::Tables tables);

    bool is_local(const Domain& d) const;
    // ok, 550 5.1.1 (unknown local user) or 554 5.7.1 (relay denied).
    Status check(const Address& rcpt, bool may_relay) const;

private:
    std::vector<std::string> local_domains_;
    local_recipient::Tables tables_;
};

}  // namespace mta
