// lmtp_client: one LMTP (RFC 2033) transaction to a UNIX or TCP socket.
//
//   unix:/run/dovecot/lmtp     a UNIX-domain stream socket
//   inet:127.0.0.1:24          a TCP address ([::1]:24 for IPv6)
//
// LHLO, MAIL FROM, one RCPT TO per recipient, DATA with the message sent
// with CRLF line endings and dot-stuffed, then one reply per accepted
// recipient: each recipient gets its own Status. A failure before the
// replies (connection, greeting, MAIL, DATA) is every recipient's result.
#pragma once

#include "status.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mta::lmtp_client {

struct Transaction {
    std::string server;                   // "unix:/path" or "inet:host:port"
    std::string helo;                     // our name in LHLO
    std::string sender;                   // "" for <>
    std::vector<std::string> recipients;  // addresses without <>
    int timeout = 300;                    // seconds per read or write
};

// "lmtp:unix:/path" style name for result lines and logs.
std::string relay_name(const std::string& server);

// One Status per recipient, in order.
std::vector<Status> deliver(const Transaction& t, std::string_view message);

// CRLF line endings and dot-stuffing, ending in "\r\n.\r\n" (exposed for tests).
std::string data_block(std::string_view message);

}  // namespace mta::lmtp_client
