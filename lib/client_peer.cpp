#include "client_peer.hpp"

#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>

namespace mta {

namespace {

std::string env(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v ? v : "";
}

int to_port(const std::string& s) {
    int p = std::atoi(s.c_str());
    return p > 0 && p < 65536 ? p : 0;
}

bool valid_ip(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// A host name as tcpserver found it: only LDH characters and dots.
bool valid_name(const std::string& s) {
    if (s.empty() || s.size() > 253) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    return true;
}

}  // namespace

std::string Peer::namaddr() const {
    if (local) return "local";
    return name + "[" + (ip.empty() ? "unknown" : ip) + "]";
}

bool Peer::loopback() const {
    if (local) return true;
    return ip.rfind("127.", 0) == 0 || ip == "::1";
}

std::string address_text(const struct sockaddr* sa, int* port) {
    char buf[INET6_ADDRSTRLEN] = {0};
    if (sa->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
        if (port) *port = ntohs(in->sin_port);
        return buf;
    }
    if (sa->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        if (port) *port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            inet_ntop(AF_INET, reinterpret_cast<const unsigned char*>(&in6->sin6_addr) + 12, buf, sizeof buf);
            return buf;
        }
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
        return buf;
    }
    return "";
}

std::string unmapped_ip(const std::string& ip) {
    in6_addr a;
    if (ip.find(':') == std::string::npos || inet_pton(AF_INET6, ip.c_str(), &a) != 1 || !IN6_IS_ADDR_V4MAPPED(&a))
        return ip;
    char buf[INET_ADDRSTRLEN] = {0};
    inet_ntop(AF_INET, reinterpret_cast<const unsigned char*>(&a) + 12, buf, sizeof buf);
    return buf;
}

Peer peer_from_socket(int fd) {
    Peer p;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        p.ip = address_text(reinterpret_cast<sockaddr*>(&ss), &p.port);
    len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        p.local_ip = address_text(reinterpret_cast<sockaddr*>(&ss), &p.local_port);
    return p;
}

Peer peer_from_environment(int fd) {
    Peer p = peer_from_socket(fd);
    std::string proto = env("PROTO");
    if (!proto.empty() && proto.size() < 16) {
        std::string ip = env(proto + "REMOTEIP");
        if (ip.empty()) ip = env("TCPREMOTEIP");
        if (valid_ip(ip)) {
            p.ip = ip;
            p.port = to_port(env(proto + "REMOTEPORT"));
            std::string lip = env(proto + "LOCALIP");
            if (valid_ip(lip)) p.local_ip = lip;
            p.local_port = to_port(env(proto + "LOCALPORT"));
            std::string host = env(proto + "REMOTEHOST");
            if (valid_name(host)) p.name = host;
        }
    } else if (std::string ip = env("REMOTE_ADDR"); valid_ip(ip)) {
        p.ip = ip;
        p.port = to_port(env("REMOTE_PORT"));
    }
    p.ip = unmapped_ip(p.ip);
    if (const char* rc = std::getenv("RELAYCLIENT")) {
        p.relayclient = true;
        p.relayclient_suffix = rc;
    }
    return p;
}

void resolve_name(Peer& p) {
    if (p.ip.empty() || p.name != "unknown") return;
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (p.ip.find(':') == std::string::npos) {
        auto* in = reinterpret_cast<sockaddr_in*>(&ss);
        in->sin_family = AF_INET;
        if (inet_pton(AF_INET, p.ip.c_str(), &in->sin_addr) != 1) return;
        len = sizeof *in;
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
        in6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, p.ip.c_str(), &in6->sin6_addr) != 1) return;
        len = sizeof *in6;
    }
    char host[NI_MAXHOST];
    if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, nullptr, 0, NI_NAMEREQD) != 0) return;
    // Forward-confirm: the name must resolve back to the address.
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, nullptr, &hints, &res) != 0) return;
    bool confirmed = false;
    for (auto* a = res; a && !confirmed; a = a->ai_next) confirmed = address_text(a->ai_addr, nullptr) == p.ip;
    freeaddrinfo(res);
    if (confirmed && valid_name(host)) p.name = host;
}

}  // namespace mta
