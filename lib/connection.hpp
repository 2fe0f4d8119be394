// connection: the byte stream of one SMTP session, plain or TLS.
//
// Reading fd and writing fd may differ (inetd: 0 and 1). Both are made
// non-blocking; every read and write waits with poll(2) until its deadline,
// so a client that stalls is noticed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mta {

class TlsContext;
namespace tls {
class Session;
enum class Step;
}  // namespace tls

// Milliseconds on the monotonic clock.
std::int64_t monotonic_ms();

class Connection {
public:
    Connection(int rfd, int wfd);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    enum class Io { ok, eof, timeout, error };
    // Reads what is available (at most n bytes), waiting until deadline.
    Io read(char* buf, size_t n, size_t& got, std::int64_t deadline);
    // Exactly n bytes (PROXY headers), waiting until deadline.
    Io read_exact(char* buf, size_t n, std::int64_t deadline);
    Io write(std::string_view data, std::int64_t deadline);
    // Server-side TLS handshake. On failure, error() says why.
    bool start_tls(const TlsContext& ctx, std::int64_t deadline);
    bool tls() const { return tls_ != nullptr; }
    std::string tls_info() const;
    const std::string& error() const { return error_; }
    int read_fd() const { return rfd_; }

private:
    enum class Step { retry, timeout, failed };
    bool wait(int fd, short events, std::int64_t deadline);
    Step tls_wait(tls::Step s, std::int64_t deadline);
    Io read_plain(char* buf, size_t n, size_t& got, std::int64_t deadline);
    int rfd_, wfd_;
    int rflags_ = -1, wflags_ = -1;
    std::unique_ptr<tls::Session> tls_;
    std::string error_;
};

}  // namespace mta
