#include "smtp_connection.hpp"

#include "status.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mta {

namespace {

Deadline after(Seconds s) { return std::chrono::steady_clock::now() + s; }

Error lost(std::string_view stage) {
    return Error(Status::temporary(451, "4.4.2", "lost connection " + std::string(stage)));
}

}  // namespace

std::unique_ptr<SmtpConnection> SmtpConnection::open(const std::string& address, std::uint16_t port, Seconds timeout) {
    struct addrinfo hints = {}, *res = nullptr;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    std::string svc = std::to_string(port);
    int g = ::getaddrinfo(address.c_str(), svc.c_str(), &hints, &res);
    if (g != 0 || !res)
        throw Error(Status::temporary(451, "4.4.1", "bad address " + address + ": " + gai_strerror(g)));
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        ::freeaddrinfo(res);
        throw Error::system("socket", e);
    }
    std::unique_ptr<SmtpConnection> c(new SmtpConnection(fd, address, port));
    int r = ::connect(fd, res->ai_addr, res->ai_addrlen);
    ::freeaddrinfo(res);
    std::string where = "to " + address + ":" + svc;
    if (r != 0 && errno != EINPROGRESS)
        throw Error(Status::temporary(451, "4.4.1", "connect " + where + ": " + std::strerror(errno)));
    if (r != 0) {
        try {
            wait_fd(fd, true, after(timeout), "connecting " + where);
        } catch (const Error&) {
            throw Error(Status::temporary(451, "4.4.1", "connect " + where + ": Connection timed out"));
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) throw Error(Status::temporary(451, "4.4.1", "connect " + where + ": " + std::strerror(err)));
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return c;
}

SmtpConnection::~SmtpConnection() { close(); }

void SmtpConnection::close() {
    if (fd_ < 0) return;
    if (tls_) tls_->shutdown();
    tls_.reset();
    ::close(fd_);
    fd_ = -1;
}

bool SmtpConnection::fill(Deadline d, std::string_view stage) {
    if (fd_ < 0) throw lost(stage);
    if (pos_ > 0 && pos_ == in_.size()) {
        in_.clear();
        pos_ = 0;
    } else if (pos_ > 65536) {
        in_.erase(0, pos_);
        pos_ = 0;
    }
    char buf[16384];
    if (tls_) {
        size_t n = tls_->read(buf, sizeof buf, d);
        if (n == 0) return false;
        in_.append(buf, n);
        return true;
    }
    while (true) {
        ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n > 0) {
            in_.append(buf, size_t(n));
            return true;
        }
        if (n == 0) return false;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            wait_fd(fd_, false, d, std::string(stage));
            continue;
        }
        throw Error(Status::temporary(451, "4.4.2", "read error " + std::string(stage) + ": " + std::strerror(errno)));
    }
}

SmtpReply SmtpConnection::read_reply(Seconds timeout, std::string_view stage) {
    Deadline d = after(timeout);
    SmtpReplyParser parser;
    while (true) {
        size_t nl = in_.find('\n', pos_);
        if (nl == std::string::npos) {
            if (in_.size() - pos_ > SmtpReplyParser::max_line + 2) {
                close();
                throw Error(Status::temporary(451, "4.5.0", "malformed reply from server: line longer than " +
                                                                std::to_string(SmtpReplyParser::max_line) +
                                                                " bytes " + std::string(stage)));
            }
            if (!fill(d, stage)) throw lost(stage);
            continue;
        }
        std::string_view line(in_.data() + pos_, nl - pos_);
        pos_ = nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (trace_) std::fprintf(trace_, "<<< %.*s\n", int(std::min<size_t>(line.size(), 200)), line.data());
        try {
            if (auto r = parser.feed(line)) return *r;
        } catch (Error& e) {
            Status s = e.status();
            s.text += " " + std::string(stage);
            close();
            throw Error(s);
        }
    }
}

void SmtpConnection::trace_out(std::string_view bytes, std::string_view stage) {
    if (stage.find("content") != std::string_view::npos) {
        std::fprintf(trace_, ">>> (%zu bytes of message content)\n", bytes.size());
        return;
    }
    bool secret = stage.find("AUTH") != std::string_view::npos;
    while (!bytes.empty()) {
        auto nl = bytes.find('\n');
        std::string_view line = bytes.substr(0, nl);
        bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (secret && line.rfind("AUTH ", 0) == 0) {
            auto sp = line.find(' ', 5);
            std::fprintf(trace_, ">>> %.*s%s\n", int(sp == std::string_view::npos ? line.size() : sp), line.data(),
                         sp == std::string_view::npos ? "" : " ********");
        } else if (secret) {
            std::fprintf(trace_, ">>> ********\n");
        } else {
            std::fprintf(trace_, ">>> %.*s\n", int(line.size()), line.data());
        }
    }
}

void SmtpConnection::write(std::string_view bytes, Seconds timeout, std::string_view stage) {
    if (fd_ < 0) throw lost(stage);
    if (trace_) trace_out(bytes, stage);
    Deadline d = after(timeout);
    if (tls_) {
        tls_->write(bytes, d);
        return;
    }
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(size_t(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            wait_fd(fd_, true, d, std::string(stage));
            continue;
        }
        throw Error(Status::temporary(451, "4.4.2", "write error " + std::string(stage) + ": " + std::strerror(errno)));
    }
}

SmtpReply SmtpConnection::command(std::string_view line, Seconds timeout, std::string_view stage) {
    std::string out(line);
    out += "\r\n";
    write(out, timeout, stage);
    return read_reply(timeout, stage);
}

size_t SmtpConnection::start_tls(TlsClient& client, TlsPolicy policy, const std::string& host,
                                 const std::vector<Tlsa>& tlsa, Seconds timeout) {
    size_t dropped = in_.size() - pos_;
    in_.clear();
    pos_ = 0;
    if (trace_) std::fprintf(trace_, "--- TLS handshake (%zu bytes received before it discarded)\n", dropped);
    tls_ = client.handshake(fd_, policy, host, tlsa, after(timeout));
    return dropped;
}

}  // namespace mta
