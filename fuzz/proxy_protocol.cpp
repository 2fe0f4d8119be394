// Fuzz target: the PROXY protocol header, v1 text and v2 binary
// (lib/proxy_protocol), read before the greeting from a proxy. Properties:
// addresses it yields are real IP addresses in text form, ports fit in 16
// bits, and a v1 header printed back from them parses to the same.
#include "client_peer.hpp"
#include "proxy_protocol.hpp"
#include "status.hpp"

#include <arpa/inet.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <string>

namespace {

int family(const std::string& ip) {
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return 4;
    if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) return 6;
    return 0;
}

void check(const mta::proxy::Header& h) {
    if (h.use_connection) return;
    int f = family(h.src_ip);
    if (f == 0 || family(h.dst_ip) != f) std::abort();
    if (h.src_port < 0 || h.src_port > 65535 || h.dst_port < 0 || h.dst_port > 65535) std::abort();
    std::string v1 = std::string("PROXY ") + (f == 4 ? "TCP4 " : "TCP6 ") + h.src_ip + " " + h.dst_ip + " " +
                     std::to_string(h.src_port) + " " + std::to_string(h.dst_port) + "\r\n";
    mta::proxy::Header again = mta::proxy::parse_v1(v1);
    if (again.src_ip != h.src_ip || again.dst_ip != h.dst_ip || again.src_port != h.src_port ||
        again.dst_port != h.dst_port || again.use_connection)
        std::abort();
    mta::Peer p;
    p.ip = "192.0.2.9";
    mta::proxy::apply(h, p);
    // The client is the source address; an IPv4-mapped IPv6 one becomes
    // the IPv4 address it maps.
    unsigned char a6[16], a4[4];
    if (f == 6 && inet_pton(AF_INET6, h.src_ip.c_str(), a6) == 1 && IN6_IS_ADDR_V4MAPPED(reinterpret_cast<in6_addr*>(a6))) {
        if (inet_pton(AF_INET, p.ip.c_str(), a4) != 1 || std::memcmp(a4, a6 + 12, 4) != 0) std::abort();
    } else if (p.ip != h.src_ip) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        check(mta::proxy::parse_v1(in));
    } catch (const mta::Error&) {
    }
    try {
        check(mta::proxy::parse_v2(in));
    } catch (const mta::Error&) {
    }
    // The same bytes behind a valid v2 signature reach the address block.
    static const char sig[] = "\r\n\r\n\0\r\nQUIT\n";
    std::string v2(sig, 12);
    v2.append(in);
    try {
        check(mta::proxy::parse_v2(v2));
    } catch (const mta::Error&) {
    }
    return 0;
}
