// proxy_protocol: the HAProxy PROXY protocol, versions 1 and 2.
//
// Read before the 220 greeting, only on a listener configured for it and
// only from a configured proxy address; the client addresses it carries
// then replace the connection's everywhere (logs, Received, relay policy).
// A missing, malformed or late header closes the connection.
#pragma once

#include "client_peer.hpp"
#include "connection.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace mta::proxy {

struct Header {
    bool use_connection = false;  // v1 UNKNOWN, v2 LOCAL, or a non-IP family
    std::string src_ip, dst_ip;
    int src_port = 0, dst_port = 0;
};

// "PROXY TCP4 192.0.2.1 192.0.2.2 56324 25\r\n" (the whole line, CRLF included).
Header parse_v1(std::string_view line);
// The 16-byte fixed part followed by its address block.
Header parse_v2(std::string_view bytes);

// Reads one header (v1 or v2) from the connection, byte-exact, never past
// its end. Throws Error (temporary) with the reason.
Header read(Connection& c, std::int64_t deadline);

// Replaces the peer's addresses with the header's.
void apply(const Header& h, Peer& p);

}  // namespace mta::proxy
