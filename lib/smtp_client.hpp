// smtp_client: delivering messages to a route, host after host.
//
// Tries the route's hosts in order and each host's addresses in order
// (RFC 5321 5.1). It moves to the next address on a connect failure, a
// greeting that is not 220, a 421, a lost connection, a failed required
// TLS policy or a refused login, and carries the per-recipient results
// across hosts: a recipient that got a final answer (2xx, 5xx, or a
// possible duplicate) is not sent again; the others are tried on the next
// address. Several messages share one connection, with RSET between.
#pragma once

#include "log.hpp"
#include "outgoing_message.hpp"
#include "result_line.hpp"
#include "route.hpp"
#include "smtp_auth_client.hpp"
#include "smtp_connection.hpp"
#include "smtp_transaction.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mta {

struct SmtpClientConfig {
    std::string helo_name;
    SmtpTimeouts timeouts;
    std::string ca_file;                 // TLS trust anchors ("" system default)
    std::optional<Credentials> credentials;  // for routes with auth=
    bool auth_without_tls = false;       // allow AUTH over a plain connection
    std::FILE* trace = nullptr;          // copy of the SMTP dialogue (--verbose)
    size_t recipient_limit = 100;        // RCPTs per transaction (RFC 5321 4.5.3.1.8)
};

struct SendReport {
    // results[m][r]: message m, recipient r, in the order given.
    std::vector<std::vector<RecipientResult>> results;
    int connections = 0;  // connections that reached a greeting
};

// "name[address]:port"
std::string host_label(const std::string& name, const std::string& address, std::uint16_t port);

// Resolves a host name to its IPv6 and IPv4 addresses (getaddrinfo), for
// routes that do not carry addresses (`--host` by hand). Throws Error
// (temporary 4.4.3, or permanent 5.1.2 when the name does not exist).
std::vector<std::string> resolve_host(const std::string& name);

SendReport send_route(const Route& route, const std::vector<OutgoingMessage>& messages, const SmtpClientConfig& cfg);

}  // namespace mta
