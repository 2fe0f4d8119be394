#include "connection.hpp"

#include "tls_engine.hpp"
#include "tls_server.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace mta {

std::int64_t monotonic_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Connection::Connection(int rfd, int wfd) : rfd_(rfd), wfd_(wfd) {
    // One socket for both directions (a listener's or systemd's), or two
    // descriptors (inetd's stdin and stdout, a pipe pair).
    rflags_ = fcntl(rfd, F_GETFL);
    if (rflags_ >= 0) fcntl(rfd, F_SETFL, rflags_ | O_NONBLOCK);
    if (wfd == rfd) return;  // wflags_ stays -1: nothing more to set or give back
    wflags_ = fcntl(wfd, F_GETFL);
    if (wflags_ >= 0) fcntl(wfd, F_SETFL, wflags_ | O_NONBLOCK);
}

Connection::~Connection() {
    if (tls_) tls_->shutdown();
    tls_.reset();
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

// After a TLS step that did not finish: when it wants the socket readable
// or writable, waits for that (retry) or the deadline (timeout).
Connection::Step Connection::tls_wait(tls::Step s, std::int64_t deadline) {
    if (s == tls::Step::want_read) return wait(rfd_, POLLIN, deadline) ? Step::retry : Step::timeout;
    if (s == tls::Step::want_write) return wait(wfd_, POLLOUT, deadline) ? Step::retry : Step::timeout;
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
    if (!tls_) return read_plain(buf, n, got, deadline);
    while (true) {
        tls::Step s = tls_->read(buf, n, got);
        if (s == tls::Step::done) return Io::ok;
        if (s == tls::Step::closed || s == tls::Step::lost) return Io::eof;
        Step step = tls_wait(s, deadline);
        if (step == Step::retry) continue;
        if (step == Step::timeout) return Io::timeout;
        error_ = tls_->error();
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
        if (tls_) {
            size_t put = 0;
            tls::Step s = tls_->write(data.data(), data.size(), put);
            if (s == tls::Step::done) {
                data.remove_prefix(put);
                continue;
            }
            Step step = tls_wait(s, deadline);
            if (step == Step::retry) continue;
            if (step == Step::timeout) return Io::timeout;
            error_ = s == tls::Step::failed ? tls_->error() : "connection lost";
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
    auto session = ctx.get().session(rfd_, wfd_, error_);
    if (!session) return false;
    while (true) {
        tls::Step s = session->handshake();
        if (s == tls::Step::done) break;
        Step step = tls_wait(s, deadline);
        if (step == Step::retry) continue;
        error_ = step == Step::timeout                               ? "timeout in the TLS handshake"
                 : s == tls::Step::lost || s == tls::Step::closed ? "connection lost in the TLS handshake"
                                                                      : session->error();
        return false;
    }
    tls_ = std::move(session);
    return true;
}

std::string Connection::tls_info() const { return tls_ ? tls_->description() : ""; }

}  // namespace mta
