#include "proxy_protocol.hpp"

#include "status.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>
#include <vector>

namespace mta::proxy {

namespace {

const char v2_signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};

Error bad(std::string why) { return Error::temp("PROXY protocol: " + why); }

int port(std::string_view s) {
    int v = -1;
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) throw bad("bad port");
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v < 0 || v > 65535) throw bad("bad port");
    return v;
}

std::string ip(std::string_view s, int family) {
    unsigned char buf[16];
    std::string t(s);
    if (inet_pton(family, t.c_str(), buf) != 1) throw bad("bad address");
    char out[INET6_ADDRSTRLEN];
    inet_ntop(family, buf, out, sizeof out);
    return out;
}

}  // namespace

Header parse_v1(std::string_view line) {
    if (line.size() > 107 || line.size() < 8 || line.substr(line.size() - 2) != "\r\n") throw bad("bad v1 line");
    line.remove_suffix(2);
    std::vector<std::string_view> f;
    while (!line.empty()) {
        auto sp = line.find(' ');
        f.push_back(line.substr(0, sp));
        if (sp == std::string_view::npos) break;
        line.remove_prefix(sp + 1);
    }
    if (f.size() < 2 || f[0] != "PROXY") throw bad("bad v1 line");
    Header h;
    if (f[1] == "UNKNOWN") {
        h.use_connection = true;
        return h;
    }
    int fam = f[1] == "TCP4" ? AF_INET : f[1] == "TCP6" ? AF_INET6 : 0;
    if (!fam || f.size() != 6) throw bad("bad v1 line");
    h.src_ip = ip(f[2], fam);
    h.dst_ip = ip(f[3], fam);
    h.src_port = port(f[4]);
    h.dst_port = port(f[5]);
    return h;
}

Header parse_v2(std::string_view b) {
    if (b.size() < 16 || std::memcmp(b.data(), v2_signature, 12) != 0) throw bad("bad v2 signature");
    auto u = [&](size_t i) { return static_cast<unsigned char>(b[i]); };
    if ((u(12) >> 4) != 2) throw bad("unsupported version");
    int cmd = u(12) & 0xf;
    size_t len = size_t(u(14)) << 8 | u(15);
    if (b.size() != 16 + len) throw bad("bad v2 length");
    Header h;
    if (cmd == 0) {
        h.use_connection = true;
        return h;
    }
    if (cmd != 1) throw bad("unsupported command");
    int fam = u(13) >> 4;
    if (fam != 1 && fam != 2) {
        h.use_connection = true;  // UNSPEC or UNIX: keep the real endpoints
        return h;
    }
    // Source and destination address (4 or 16 bytes each), then the ports.
    const unsigned char* a = reinterpret_cast<const unsigned char*>(b.data()) + 16;
    size_t n = fam == 1 ? 4 : 16;
    if (len < 2 * n + 4) throw bad("short v2 address block");
    char out[INET6_ADDRSTRLEN];
    inet_ntop(fam == 1 ? AF_INET : AF_INET6, a, out, sizeof out);
    h.src_ip = out;
    inet_ntop(fam == 1 ? AF_INET : AF_INET6, a + n, out, sizeof out);
    h.dst_ip = out;
    h.src_port = a[2 * n] << 8 | a[2 * n + 1];
    h.dst_port = a[2 * n + 2] << 8 | a[2 * n + 3];
    return h;
}

Header read(Connection& c, std::int64_t deadline) {
    // 12 bytes are safe to read for both versions (the shortest v1 line,
    // "PROXY UNKNOWN\r\n", has 15).
    std::string buf(12, '\0');
    auto io = c.read_exact(buf.data(), 12, deadline);
    if (io != Connection::Io::ok) throw bad(io == Connection::Io::timeout ? "timeout" : "connection lost");
    if (std::memcmp(buf.data(), v2_signature, 12) == 0) {
        buf.resize(16);
        if (c.read_exact(buf.data() + 12, 4, deadline) != Connection::Io::ok) throw bad("short v2 header");
        size_t len = size_t(static_cast<unsigned char>(buf[14])) << 8 | static_cast<unsigned char>(buf[15]);
        if (len > 1024) throw bad("v2 header too long");
        buf.resize(16 + len);
        if (len && c.read_exact(buf.data() + 16, len, deadline) != Connection::Io::ok) throw bad("short v2 header");
        return parse_v2(buf);
    }
    if (buf.compare(0, 6, "PROXY ") != 0) throw bad("no header");
    while (buf.size() < 107 && buf.compare(buf.size() - std::min<size_t>(2, buf.size()), 2, "\r\n") != 0) {
        char ch;
        if (c.read_exact(&ch, 1, deadline) != Connection::Io::ok) throw bad("short v1 header");
        buf += ch;
    }
    return parse_v1(buf);
}

void apply(const Header& h, Peer& p) {
    if (h.use_connection) return;
    p.ip = h.src_ip;
    p.port = h.src_port;
    p.local_ip = h.dst_ip;
    p.local_port = h.dst_port;
    // RELAYCLIENT and the name came from rules that matched the proxy, not
    // the client behind it.
    p.relayclient = false;
    p.relayclient_suffix.clear();
    p.name = "unknown";
    p.ip = unmapped_ip(p.ip);
}

}  // namespace mta::proxy
