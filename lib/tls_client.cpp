#include "tls_client.hpp"

#include "status.hpp"

#include <cerrno>
#include <cstring>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

namespace mta {

namespace {

Error tls_error(std::string text) { return Error(Status::temporary(454, "4.7.5", std::move(text))); }

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? "unknown TLS error" : out;
}

std::vector<unsigned char> unhex(std::string_view s) {
    std::vector<unsigned char> out;
    if (s.size() % 2) return {};
    auto val = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < s.size(); i += 2) {
        int h = val(s[i]), l = val(s[i + 1]);
        if (h < 0 || l < 0) return {};
        out.push_back(static_cast<unsigned char>(h * 16 + l));
    }
    return out;
}

// Drives one non-blocking SSL call to completion.
template <typename F>
int drive(SSL* ssl, int fd, Deadline d, std::string_view what, F&& call) {
    while (true) {
        ERR_clear_error();
        int r = call();
        if (r > 0) return r;
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ) wait_fd(fd, false, d, what);
        else if (e == SSL_ERROR_WANT_WRITE) wait_fd(fd, true, d, what);
        else if (e == SSL_ERROR_ZERO_RETURN) return 0;
        else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
            throw Error(Status::temporary(451, "4.4.2", std::string("lost connection during TLS ") + std::string(what)));
        else throw tls_error("TLS " + std::string(what) + " failed: " + openssl_errors());
    }
}

}  // namespace

void wait_fd(int fd, bool for_write, Deadline d, std::string_view what) {
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            throw Error(Status::temporary(451, "4.4.2", "timeout " + std::string(what)));
        struct pollfd p = {fd, short(for_write ? POLLOUT : POLLIN), 0};
        int r = ::poll(&p, 1, int(std::min<long long>(left.count(), 1 << 30)));
        if (r > 0) return;
        if (r < 0 && errno != EINTR) throw Error::system("poll", errno);
    }
}

TlsPolicy parse_tls_policy(std::string_view s) {
    if (s == "none") return TlsPolicy::none;
    if (s == "may") return TlsPolicy::may;
    if (s == "encrypt") return TlsPolicy::encrypt;
    if (s == "verify") return TlsPolicy::verify;
    if (s == "dane") return TlsPolicy::dane;
    throw Error::usage("unknown TLS policy: " + std::string(s) + " (none, may, encrypt, verify, dane)");
}

std::string_view to_string(TlsPolicy p) {
    switch (p) {
    case TlsPolicy::none: return "none";
    case TlsPolicy::may: return "may";
    case TlsPolicy::encrypt: return "encrypt";
    case TlsPolicy::verify: return "verify";
    case TlsPolicy::dane: return "dane";
    }
    return "may";
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

size_t TlsSession::read(char* buf, size_t n, Deadline d) {
    return size_t(drive(ssl_, fd_, d, "read", [&] { return SSL_read(ssl_, buf, int(std::min<size_t>(n, 1 << 30))); }));
}

void TlsSession::write(std::string_view data, Deadline d) {
    while (!data.empty()) {
        int n = drive(ssl_, fd_, d, "write",
                      [&] { return SSL_write(ssl_, data.data(), int(std::min<size_t>(data.size(), 1 << 20))); });
        if (n <= 0) throw Error(Status::temporary(451, "4.4.2", "lost connection during TLS write"));
        data.remove_prefix(size_t(n));
    }
}

void TlsSession::shutdown() {
    ERR_clear_error();
    SSL_shutdown(ssl_);
}

TlsClient::TlsClient(std::string ca_file) : ca_file_(std::move(ca_file)) {}

TlsClient::~TlsClient() { SSL_CTX_free(ctx_); }

SSL_CTX* TlsClient::context() {
    if (ctx_) return ctx_;
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    if (!c) throw tls_error("cannot create a TLS context: " + openssl_errors());
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    int ok = ca_file_.empty() ? SSL_CTX_set_default_verify_paths(c)
                              : SSL_CTX_load_verify_locations(c, ca_file_.c_str(), nullptr);
    if (ok != 1) {
        SSL_CTX_free(c);
        throw Error::config("cannot load TLS trust anchors " + (ca_file_.empty() ? "(default)" : ca_file_) + ": " +
                            openssl_errors());
    }
    if (SSL_CTX_dane_enable(c) <= 0) {
        SSL_CTX_free(c);
        throw tls_error("cannot enable DANE: " + openssl_errors());
    }
    ctx_ = c;
    return ctx_;
}

std::unique_ptr<TlsSession> TlsClient::handshake(int fd, TlsPolicy policy, const std::string& host,
                                                 const std::vector<Tlsa>& tlsa, Deadline d) {
    SSL* ssl = SSL_new(context());
    if (!ssl) throw tls_error("cannot create a TLS session: " + openssl_errors());
    std::unique_ptr<TlsSession> s(new TlsSession(ssl, fd));
    bool named = !host.empty() && host.front() != '[';
    if (named) SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);  // results are checked below, per policy
    int usable = 0;
    if (policy == TlsPolicy::dane) {
        if (SSL_dane_enable(ssl, named ? host.c_str() : nullptr) <= 0)
            throw tls_error("cannot enable DANE: " + openssl_errors());
        // RFC 7672 3.1.3: a DANE-EE match needs no name check.
        SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
        for (auto& t : tlsa) {
            // RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP.
            if (t.usage != 2 && t.usage != 3) continue;
            auto data = unhex(t.data);
            if (data.empty()) continue;
            int r = SSL_dane_tlsa_add(ssl, uint8_t(t.usage), uint8_t(t.selector), uint8_t(t.mtype), data.data(),
                                      data.size());
            if (r > 0) ++usable;
        }
        ERR_clear_error();
        if (usable == 0) policy = TlsPolicy::encrypt;
    } else if (policy == TlsPolicy::verify) {
        if (!named) throw tls_error("policy verify needs a host name, not " + host);
        SSL_set1_host(ssl, host.c_str());
    }
    if (SSL_set_fd(ssl, fd) != 1) throw tls_error("SSL_set_fd: " + openssl_errors());
    drive(ssl, fd, d, "handshake", [&] { return SSL_connect(ssl); });

    std::string verdict = "not verified";
    if (policy == TlsPolicy::verify || policy == TlsPolicy::dane) {
        X509* cert = SSL_get1_peer_certificate(ssl);
        if (!cert) throw tls_error("server " + host + " presented no certificate");
        X509_free(cert);
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK)
            throw tls_error(std::string(policy == TlsPolicy::dane ? "DANE" : "certificate") + " verification of " +
                            host + " failed: " + X509_verify_cert_error_string(v));
        if (policy == TlsPolicy::dane && SSL_get0_dane_authority(ssl, nullptr, nullptr) < 0)
            throw tls_error("no TLSA record of " + host + " matches its certificate");
        s->authenticated_ = true;
        verdict = policy == TlsPolicy::dane ? "dane-verified" : "verified";
    }
    s->summary_ = std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl) + " " + verdict;
    return s;
}

}  // namespace mta
