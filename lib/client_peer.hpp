// client_peer: who is on the other end of an SMTP connection.
//
// In the order the environment provides it:
//   ${PROTO}REMOTEIP/PORT, TCPLOCALIP/PORT, TCPREMOTEHOST (UCSPI: tcpserver, s6)
//   REMOTE_ADDR/REMOTE_PORT                               (systemd Accept=yes)
//   getpeername(2)/getsockname(2) on the connection       (inetd, our listener)
// RELAYCLIENT (set by tcprules) lets the client relay, as in qmail; a
// non-empty value is appended to every recipient address.
#pragma once

#include <string>
#include <sys/socket.h>

namespace mta {

struct Peer {
    std::string ip;            // "" when unknown (a pipe)
    int port = 0;
    std::string name = "unknown";  // verified reverse DNS name, or "unknown"
    std::string local_ip;
    int local_port = 0;
    bool relayclient = false;
    std::string relayclient_suffix;  // RELAYCLIENT's value
    bool local = false;        // local submission (sendmail -bs)

    // "name[ip]", Postfix's namaddr; "local" for local submissions.
    std::string namaddr() const;
    bool loopback() const;
};

// The peer of a connection on fd, from the environment (UCSPI, systemd)
// or the socket.
Peer peer_from_environment(int fd);
// The peer from the socket alone (our own listener).
Peer peer_from_socket(int fd);
// Fills name from reverse DNS, confirmed by a forward lookup (else "unknown").
void resolve_name(Peer& p);
// "192.0.2.1" from a sockaddr; IPv4-mapped IPv6 addresses become IPv4.
std::string address_text(const struct sockaddr* sa, int* port);
// An address in text: an IPv4-mapped IPv6 address (::ffff:192.0.2.1, in
// any spelling) as the IPv4 address; any other text as it is.
std::string unmapped_ip(const std::string& ip);

}  // namespace mta
