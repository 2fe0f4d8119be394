#include "smtp_server.hpp"

#include "connection.hpp"
#include "log.hpp"
#include "password_file.hpp"
#include "proxy_protocol.hpp"
#include "spool.hpp"

#include <csignal>
#include <memory>
#include <optional>
#include <unistd.h>

namespace mta {

namespace {

class SpoolBackend : public smtp::Backend {
public:
    SpoolBackend(const ServerSettings& s)
        : spool_(s.common.spool), policy_(config::local_domains(s.common), local_recipient::default_tables(s.common)),
          password_file_(s.password_file) {}

    Status check_recipient(const Address& rcpt, bool may_relay) override {
        try {
            return policy_.check(rcpt, may_relay);
        } catch (const Error& e) {
            return e.status();
        }
    }
    bool authenticate(const std::string& user, const std::string& password) override {
        try {
            return password_file::verify(password_file_, user, password);
        } catch (const Error& e) {
            log::error("password file {}: {}", password_file_, e.what());
            return false;
        }
    }
    std::string begin_message() override {
        in_.reset();
        in_.emplace(spool_.receive());
        return in_->id().str();
    }
    void write(std::string_view bytes) override { in_->write(bytes); }
    void commit(Envelope env) override {
        in_->commit(std::move(env));
        in_.reset();
    }
    void abort() override {
        if (in_) in_->abort();
        in_.reset();
    }

private:
    Spool spool_;
    RelayPolicy policy_;
    std::string password_file_;
    std::optional<Spool::Incoming> in_;
};

// The session loop: send replies, read input, until the session ends.
int run(Connection& conn, smtp::Session& s, const ServerSettings& st, std::int64_t session_end) {
    // Not zeroed: only what a read wrote is looked at.
    constexpr size_t buf_size = 64 * 1024;
    auto buf = std::make_unique_for_overwrite<char[]>(buf_size);
    auto deadline = [&](int seconds) { return std::min(monotonic_ms() + std::int64_t(seconds) * 1000, session_end); };
    const Peer& peer = s.peer();
    while (true) {
        if (s.has_output()) {
            if (conn.write(s.take_output(), deadline(st.command_timeout)) != Connection::Io::ok) {
                s.lost_connection();
                log::info("lost connection while writing to {}", peer.namaddr());
                return 0;
            }
        }
        if (s.closed()) return 0;
        if (s.tls_pending()) {
            if (!st.tls || !conn.start_tls(*st.tls, deadline(st.command_timeout))) {
                log::warning("TLS handshake failed with {}: {}", peer.namaddr(), conn.error());
                s.lost_connection();
                return 0;
            }
            s.tls_started(conn.tls_info());
            log::info("TLS connection established from {}: {}", peer.namaddr(), conn.tls_info());
            continue;
        }
        size_t got = 0;
        auto io = conn.read(buf.get(), buf_size, got, deadline(s.in_data() ? st.data_timeout : st.command_timeout));
        if (io == Connection::Io::timeout) {
            s.timeout();
            continue;
        }
        if (io != Connection::Io::ok) {
            if (!s.closed()) log::info("lost connection{} from {}", s.in_data() ? " after DATA" : "", peer.namaddr());
            s.lost_connection();
            return 0;
        }
        s.feed(std::string_view(buf.get(), got));
    }
}

}  // namespace

int serve(int rfd, int wfd, Peer peer, const ServerSettings& st, ListenerOptions o) {
    std::signal(SIGPIPE, SIG_IGN);
    std::int64_t session_end = monotonic_ms() + std::int64_t(st.session_timeout) * 1000;
    Connection conn(rfd, wfd);
    if (o.proxy) {
        if (!in_networks(st.proxy_from, peer.ip)) {
            log::warning("PROXY listener: connection from {}, which is not a configured proxy: closed", peer.namaddr());
            return 0;
        }
        try {
            proxy::apply(proxy::read(conn, monotonic_ms() + std::int64_t(st.proxy_timeout) * 1000), peer);
        } catch (const Error& e) {
            log::warning("{} from {}: closed", e.what(), peer.namaddr());
            return 0;
        }
    }
    if (st.lookup_names) resolve_name(peer);
    log::info("connect from {}", peer.namaddr());
    if (o.implicit_tls) {
        if (!st.tls || !conn.start_tls(*st.tls, monotonic_ms() + std::int64_t(st.command_timeout) * 1000)) {
            log::warning("TLS handshake failed with {}: {}", peer.namaddr(), st.tls ? conn.error() : "no certificate configured");
            log::info("disconnect from {}", peer.namaddr());
            return 0;
        }
        log::info("TLS connection established from {}: {}", peer.namaddr(), conn.tls_info());
    }
    smtp::SessionConfig cfg = st.session;
    cfg.may_relay = in_networks(st.trusted_networks, peer.ip);
    cfg.starttls_available = st.tls != nullptr && !conn.tls();
    cfg.tls_active = conn.tls();
    cfg.tls_info = conn.tls_info();
    cfg.auth_available = !st.password_file.empty();
    SpoolBackend backend(st);
    smtp::Session s(cfg, peer, backend);
    s.start();
    int rc = run(conn, s, st, session_end);
    log::info("disconnect from {} {}", peer.namaddr(), s.counters());
    return rc;
}

int serve_local(const ServerSettings& st) {
    std::signal(SIGPIPE, SIG_IGN);
    Peer peer;
    peer.local = true;
    peer.ip = "";
    smtp::SessionConfig cfg = st.session;
    cfg.local = true;
    cfg.local_user = "uid " + std::to_string(getuid());
    cfg.may_relay = true;
    SpoolBackend backend(st);
    smtp::Session s(cfg, peer, backend);
    Connection conn(0, 1);
    s.start();
    return run(conn, s, st, monotonic_ms() + std::int64_t(st.session_timeout) * 1000);
}

}  // namespace mta
