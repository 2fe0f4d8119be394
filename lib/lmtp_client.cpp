#include "lmtp_client.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace mta::lmtp_client {

namespace {

struct Reply {
    int code = 0;
    std::string enhanced;
    std::string text;
    Status status() const {
        std::string e = enhanced;
        if (!is_enhanced_code(e)) e = code >= 500 ? "5.0.0" : code >= 400 ? "4.0.0" : "2.0.0";
        if (code >= 200 && code < 300) return Status{Outcome::ok, code, e, text};
        if (code >= 500) return Status::permanent(code, e, text);
        return Status::temporary(code >= 400 ? code : 451, code >= 400 ? e : "4.5.0", text);
    }
};

class Connection {
public:
    Connection(const std::string& server, int timeout) {
        if (server.rfind("unix:", 0) == 0) {
            std::string path = server.substr(5);
            struct sockaddr_un sa = {};
            sa.sun_family = AF_UNIX;
            if (path.size() >= sizeof sa.sun_path) throw Error::config("LMTP socket path too long: " + path);
            std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
            fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd_ < 0) throw Error::system("socket", errno);
            set_timeout(timeout);
            if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
                throw Error(Status::temporary(451, "4.4.1", "connect to " + path + ": " + std::strerror(errno)));
        } else if (server.rfind("inet:", 0) == 0) {
            std::string hp = server.substr(5), host, port;
            auto colon = hp.rfind(':');
            if (colon == std::string::npos) throw Error::config("LMTP server needs host:port: " + server);
            host = hp.substr(0, colon);
            port = hp.substr(colon + 1);
            if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
            struct addrinfo hints = {}, *res = nullptr;
            hints.ai_socktype = SOCK_STREAM;
            hints.ai_flags = AI_NUMERICSERV;
            if (int e = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); e != 0)
                throw Error(Status::temporary(451, "4.4.3", "cannot resolve " + host + ": " + gai_strerror(e)));
            std::string err = "no address";
            for (auto* a = res; a; a = a->ai_next) {
                int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                if (fd < 0) continue;
                fd_ = fd;
                set_timeout(timeout);
                if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
                err = std::strerror(errno);
                ::close(fd);
                fd_ = -1;
            }
            ::freeaddrinfo(res);
            if (fd_ < 0) throw Error(Status::temporary(451, "4.4.1", "connect to " + hp + ": " + err));
        } else {
            throw Error::config("LMTP server must be unix:/path or inet:host:port: " + server);
        }
    }
    ~Connection() {
        if (fd_ >= 0) ::close(fd_);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void send(std::string_view s) {
        while (!s.empty()) {
            ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw Error(Status::temporary(451, "4.4.2", std::string("lost connection: ") + std::strerror(errno)));
            }
            s.remove_prefix(size_t(n));
        }
    }

    std::string line() {
        for (;;) {
            auto nl = buf_.find('\n');
            if (nl != std::string::npos) {
                std::string l = buf_.substr(0, nl);
                buf_.erase(0, nl + 1);
                if (!l.empty() && l.back() == '\r') l.pop_back();
                return l;
            }
            if (buf_.size() > 4096) throw Error(Status::temporary(451, "4.5.0", "reply line too long"));
            char b[1024];
            ssize_t n = ::recv(fd_, b, sizeof b, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0)
                throw Error(Status::temporary(451, "4.4.2", n == 0 ? "connection closed by the server"
                                                                   : "read: " + std::string(std::strerror(errno))));
            buf_.append(b, size_t(n));
        }
    }

    Reply reply() {
        Reply r;
        for (;;) {
            std::string l = line();
            if (l.size() < 3 || !std::isdigit((unsigned char)l[0]) || !std::isdigit((unsigned char)l[1]) ||
                !std::isdigit((unsigned char)l[2]))
                throw Error(Status::temporary(451, "4.5.0", "malformed reply: " + l.substr(0, 100)));
            r.code = std::stoi(l.substr(0, 3));
            std::string text = l.size() > 4 ? l.substr(4) : "";
            if (r.enhanced.empty()) {
                auto sp = text.find(' ');
                if (is_enhanced_code(text.substr(0, sp))) {
                    r.enhanced = text.substr(0, sp);
                    text = sp == std::string::npos ? "" : text.substr(sp + 1);
                }
            } else if (text.rfind(r.enhanced + " ", 0) == 0) {
                text = text.substr(r.enhanced.size() + 1);
            }
            if (!r.text.empty()) r.text += ' ';
            r.text += text;
            if (l.size() < 4 || l[3] != '-') return r;
        }
    }

private:
    void set_timeout(int seconds) {
        struct timeval tv = {seconds, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    int fd_ = -1;
    std::string buf_;
};

}  // namespace

std::string relay_name(const std::string& server) { return "lmtp:" + server; }

std::string data_block(std::string_view m) {
    std::string out;
    out.reserve(m.size() + m.size() / 40 + 8);
    bool bol = true;
    for (size_t i = 0; i < m.size(); ++i) {
        char c = m[i];
        if (bol && c == '.') out += '.';
        if (c == '\n') {
            if (i == 0 || m[i - 1] != '\r') out += '\r';
            out += '\n';
            bol = true;
        } else {
            out += c;
            bol = false;
        }
    }
    if (!bol) out += "\r\n";
    out += ".\r\n";
    return out;
}

std::vector<Status> deliver(const Transaction& t, std::string_view message) {
    std::vector<Status> result(t.recipients.size());
    std::vector<bool> final(t.recipients.size(), false);
    auto quit = [](Connection& c) {
        try {
            c.send("QUIT\r\n");
        } catch (const Error&) {
        }
    };
    try {
        Connection c(t.server, t.timeout);
        Reply r = c.reply();
        if (r.code != 220) throw Error(r.status().is_ok() ? Status::temporary(451, "4.5.0", "greeting: " + r.text) : r.status());
        c.send("LHLO " + t.helo + "\r\n");
        r = c.reply();
        if (r.code != 250) throw Error(r.code >= 500 ? r.status() : Status::temporary(451, "4.5.0", "LHLO: " + r.text));
        c.send("MAIL FROM:<" + t.sender + ">\r\n");
        r = c.reply();
        if (r.code != 250) throw Error(r.status());
        std::vector<size_t> accepted;
        for (size_t i = 0; i < t.recipients.size(); ++i) {
            c.send("RCPT TO:<" + t.recipients[i] + ">\r\n");
            r = c.reply();
            result[i] = r.status();
            if (r.code >= 200 && r.code < 300)
                accepted.push_back(i);
            else
                final[i] = true;
        }
        if (accepted.empty()) {
            quit(c);
            return result;
        }
        c.send("DATA\r\n");
        r = c.reply();
        if (r.code != 354) throw Error(r.code >= 500 ? r.status() : Status::temporary(451, "4.5.0", "DATA: " + r.text));
        c.send(data_block(message));
        for (size_t i : accepted) {
            result[i] = c.reply().status();
            final[i] = true;
        }
        quit(c);
    } catch (const Error& e) {
        // Recipients with a final reply keep it; everyone else shares the failure.
        for (size_t i = 0; i < result.size(); ++i)
            if (!final[i]) result[i] = e.status().is_ok() ? Status::temporary(451, "4.5.0", e.what()) : e.status();
    }
    return result;
}

}  // namespace mta::lmtp_client
