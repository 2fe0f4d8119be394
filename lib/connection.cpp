#include "connection.hpp"

#include "tls_server.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <unistd.h>

namespace mta {

std::int64_t monotonic_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Connection::Connection(int rfd, int wfd) : rfd_(rfd), wfd_(wfd) {
    rflags_ = fcntl(rfd, F_GETFL);
    wflags_ = fcntl(wfd, F_GETFL);
    if (rflags_ >= 0) fcntl(rfd, F_SETFL, rflags_ | O_NONBLOCK);
    if (wflags_ >= 0) fcntl(wfd, F_SETFL, wflags_ | O_NONBLOCK);
}

Connection::~Connection() {
    if (ssl_) {
        SSL_shutdown(ssl_);
        SSL_free(ssl_);
    }
    // A terminal or pipe shared with the caller gets its flags back.
    if (rflags_ >= 0) fcntl(rfd_, F_SETFL, rflags_);
    if (wflags_ >= 0) fcntl(wfd_, F_SETFL, wflags_);
}

bool Connection::wait(int fd, short events, std::int64_t deadline) {
    while (true) {
        std::int64_t left = deadline - monotonic_ms();
        if (left <= 0) return false;
        struct pollfd p = {fd, events, 0};
        int r = ::poll(&p, 1, int(left > 3600000 ? 3600000 : left));
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return true;  // let the read/write report it
    }
}

// After an OpenSSL call failed with `e`: when it wants the socket readable
// or writable, waits for that (retry) or the deadline (timeout).
Connection::Step Connection::tls_wait(int e, std::int64_t deadline) {
    if (e == SSL_ERROR_WANT_READ) return wait(rfd_, POLLIN, deadline) ? Step::retry : Step::timeout;
    if (e == SSL_ERROR_WANT_WRITE) return wait(wfd_, POLLOUT, deadline) ? Step::retry : Step::timeout;
    return Step::failed;
}

// One read(2) that returns data, waiting while the socket has none.
Connection::Io Connection::read_plain(char* buf, size_t n, size_t& got, std::int64_t deadline) {
    while (true) {
        ssize_t r = ::read(rfd_, buf, n);
        if (r > 0) {
            got = size_t(r);
            return Io::ok;
        }
        if (r == 0) return Io::eof;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait(rfd_, POLLIN, deadline)) return Io::timeout;
            continue;
        }
        error_ = std::strerror(errno);
        return errno == ECONNRESET ? Io::eof : Io::error;
    }
}

Connection::Io Connection::read(char* buf, size_t n, size_t& got, std::int64_t deadline) {
    got = 0;
    if (!ssl_) return read_plain(buf, n, got, deadline);
    while (true) {
        ERR_clear_error();
        int r = SSL_read(ssl_, buf, int(n));
        if (r > 0) {
            got = size_t(r);
            return Io::ok;
        }
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_ZERO_RETURN) return Io::eof;
        Step step = tls_wait(e, deadline);
        if (step == Step::retry) continue;
        if (step == Step::timeout) return Io::timeout;
        if (e == SSL_ERROR_SYSCALL && r == 0) return Io::eof;
        error_ = tls_error();
        return Io::error;
    }
}

Connection::Io Connection::read_exact(char* buf, size_t n, std::int64_t deadline) {
    // Plain reads only: PROXY headers come before any TLS.
    for (size_t have = 0, got = 0; have < n; have += got)
        if (Io io = read_plain(buf + have, n - have, got, deadline); io != Io::ok) return io;
    return Io::ok;
}

Connection::Io Connection::write(std::string_view data, std::int64_t deadline) {
    while (!data.empty()) {
        if (ssl_) {
            ERR_clear_error();
            int r = SSL_write(ssl_, data.data(), int(data.size()));
            if (r > 0) {
                data.remove_prefix(size_t(r));
                continue;
            }
            Step step = tls_wait(SSL_get_error(ssl_, r), deadline);
            if (step == Step::retry) continue;
            if (step == Step::timeout) return Io::timeout;
            error_ = tls_error();
            return Io::error;
        }
        ssize_t r = ::write(wfd_, data.data(), data.size());
        if (r > 0) {
            data.remove_prefix(size_t(r));
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait(wfd_, POLLOUT, deadline)) return Io::timeout;
            continue;
        }
        error_ = std::strerror(errno);
        return Io::error;
    }
    return Io::ok;
}

bool Connection::start_tls(const TlsContext& ctx, std::int64_t deadline) {
    ssl_ = SSL_new(ctx.get());
    if (!ssl_ || SSL_set_rfd(ssl_, rfd_) != 1 || SSL_set_wfd(ssl_, wfd_) != 1) {
        error_ = tls_error();
        return false;
    }
    while (true) {
        ERR_clear_error();
        int r = SSL_accept(ssl_);
        if (r == 1) return true;
        int e = SSL_get_error(ssl_, r);
        Step step = tls_wait(e, deadline);
        if (step == Step::retry) continue;
        error_ = step == Step::timeout         ? "timeout in the TLS handshake"
                 : e == SSL_ERROR_SYSCALL ? "connection lost in the TLS handshake"
                                          : tls_error();
        break;
    }
    SSL_free(ssl_);
    ssl_ = nullptr;
    return false;
}

std::string Connection::tls_info() const { return ssl_ ? tls_description(ssl_) : ""; }

}  // namespace mta
