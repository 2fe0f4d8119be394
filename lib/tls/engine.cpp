// mta-tls.so: the tls::Engine of tls_engine.hpp, with OpenSSL.
//
// This file is the plugin's only source and the toolkit's only user of
// OpenSSL. It links nothing of lib/ (the programs do not export their
// symbols): it speaks to them through tls_engine.hpp alone, and no
// exception leaves it.
#include "tls_engine.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <type_traits>

namespace mta::tls {

namespace {

// Every queued OpenSSL error, "; "-joined; the queue is left empty.
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

int clamp(std::size_t n) { return int(std::min<std::size_t>(n, 1 << 30)); }

class OpenSslSession final : public Session {
public:
    OpenSslSession(SSL* ssl, bool server) : ssl_(ssl), server_(server) {}
    ~OpenSslSession() override { SSL_free(ssl_); }

    Step handshake() override {
        ERR_clear_error();
        int r = server_ ? SSL_accept(ssl_) : SSL_connect(ssl_);
        return r == 1 ? Step::done : step(r);
    }
    Step read(char* buf, std::size_t n, std::size_t& got) override {
        got = 0;
        ERR_clear_error();
        int r = SSL_read(ssl_, buf, clamp(n));
        if (r > 0) {
            got = std::size_t(r);
            return Step::done;
        }
        return step(r);
    }
    Step write(const char* buf, std::size_t n, std::size_t& put) override {
        put = 0;
        ERR_clear_error();
        int r = SSL_write(ssl_, buf, clamp(std::min<std::size_t>(n, 1 << 20)));
        if (r > 0) {
            put = std::size_t(r);
            return Step::done;
        }
        return step(r);
    }
    void shutdown() override {
        ERR_clear_error();
        SSL_shutdown(ssl_);
        ERR_clear_error();
    }
    std::string error() override { return openssl_errors(); }

    std::string description() const override {
        int alg = 0;
        const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
        int bits = c ? SSL_CIPHER_get_bits(c, &alg) : 0;
        return std::string(SSL_get_version(ssl_)) + " with cipher " + (c ? SSL_CIPHER_get_name(c) : "unknown") +
               " (" + std::to_string(bits) + "/" + std::to_string(alg) + " bits)";
    }
    std::string protocol_and_cipher() const override {
        return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
    }

    std::string check_peer(Check check, const std::string& host) override {
        if (check == Check::none) return "";
        X509* cert = SSL_get1_peer_certificate(ssl_);
        if (!cert) return "server " + host + " presented no certificate";
        X509_free(cert);
        long v = SSL_get_verify_result(ssl_);
        if (v != X509_V_OK)
            return std::string(check == Check::dane ? "DANE" : "certificate") + " verification of " + host +
                   " failed: " + X509_verify_cert_error_string(v);
        if (check == Check::dane && SSL_get0_dane_authority(ssl_, nullptr, nullptr) < 0)
            return "no TLSA record of " + host + " matches its certificate";
        return "";
    }

private:
    Step step(int r) {
        switch (SSL_get_error(ssl_, r)) {
        case SSL_ERROR_WANT_READ: return Step::want_read;
        case SSL_ERROR_WANT_WRITE: return Step::want_write;
        case SSL_ERROR_ZERO_RETURN: return Step::closed;
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0) return Step::lost;
            return Step::failed;
        default: return Step::failed;
        }
    }
    SSL* ssl_;
    bool server_;
};

class OpenSslServer final : public ServerContext {
public:
    explicit OpenSslServer(SSL_CTX* ctx) : ctx_(ctx) {}
    ~OpenSslServer() override { SSL_CTX_free(ctx_); }

    std::unique_ptr<Session> session(int rfd, int wfd, std::string& error) override {
        ERR_clear_error();
        SSL* ssl = SSL_new(ctx_);
        if (!ssl) {
            error = openssl_errors();
            return nullptr;
        }
        auto s = std::make_unique<OpenSslSession>(ssl, true);
        if (SSL_set_rfd(ssl, rfd) != 1 || SSL_set_wfd(ssl, wfd) != 1) {
            error = openssl_errors();
            return nullptr;
        }
        return s;
    }

private:
    SSL_CTX* ctx_;
};

class OpenSslClient final : public ClientContext {
public:
    explicit OpenSslClient(SSL_CTX* ctx) : ctx_(ctx) {}
    ~OpenSslClient() override { SSL_CTX_free(ctx_); }

    std::unique_ptr<Session> session(int fd, const std::string& sni, Check check, const std::string& host,
                                     const std::vector<TlsaRecord>& tlsa, int& usable, std::string& error) override {
        usable = 0;
        ERR_clear_error();
        SSL* ssl = SSL_new(ctx_);
        if (!ssl) {
            error = "cannot create a TLS session: " + openssl_errors();
            return nullptr;
        }
        auto s = std::make_unique<OpenSslSession>(ssl, false);
        if (!sni.empty()) SSL_set_tlsext_host_name(ssl, sni.c_str());
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);  // check_peer() judges, per policy
        if (check == Check::dane) {
            if (SSL_dane_enable(ssl, host.empty() ? nullptr : host.c_str()) <= 0) {
                error = "cannot enable DANE: " + openssl_errors();
                return nullptr;
            }
            // RFC 7672 3.1.3: a DANE-EE match needs no name check.
            SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
            for (auto& t : tlsa)
                if (SSL_dane_tlsa_add(ssl, t.usage, t.selector, t.mtype, t.data.data(), t.data.size()) > 0) ++usable;
            ERR_clear_error();
        } else if (check == Check::pkix) {
            SSL_set1_host(ssl, host.c_str());
        }
        if (SSL_set_fd(ssl, fd) != 1) {
            error = "SSL_set_fd: " + openssl_errors();
            return nullptr;
        }
        return s;
    }

private:
    SSL_CTX* ctx_;
};

class OpenSslEngine final : public Engine {
public:
    std::unique_ptr<ServerContext> server(const std::string& cert_file, const std::string& key_file,
                                          Failure& f) override {
        ERR_clear_error();
        f.config = true;
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx) {
            f.text = "cannot create a TLS context: " + openssl_errors();
            return nullptr;
        }
        auto c = std::make_unique<OpenSslServer>(ctx);
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        // TLS 1.2: forward-secret AEAD suites only (no CBC: LUCKY13, no RSA
        // key exchange). TLS 1.3 suites are all AEAD: OpenSSL's defaults.
        if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL") != 1) {
            f.text = "cannot set the TLS cipher list: " + openssl_errors();
            return nullptr;
        }
        SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx, 0);
        if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
            f.text = "TLS certificate " + cert_file + ": " + openssl_errors();
            return nullptr;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
            f.text = "TLS key " + key_file + " cannot be used with certificate " + cert_file + ": " + openssl_errors();
            return nullptr;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            ERR_clear_error();
            f.text = "TLS key " + key_file + " does not match certificate " + cert_file;
            return nullptr;
        }
        return c;
    }

    std::unique_ptr<ClientContext> client(const std::string& ca_file, Failure& f) override {
        ERR_clear_error();
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx) {
            f.text = "cannot create a TLS context: " + openssl_errors();
            return nullptr;
        }
        auto c = std::make_unique<OpenSslClient>(ctx);
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                 : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
        if (ok != 1) {
            f.config = true;
            f.text = "cannot load TLS trust anchors " + (ca_file.empty() ? std::string("(default)") : ca_file) + ": " +
                     openssl_errors();
            return nullptr;
        }
        if (SSL_CTX_dane_enable(ctx) <= 0) {
            f.text = "cannot enable DANE: " + openssl_errors();
            return nullptr;
        }
        return c;
    }

    bool pbkdf2_sha512(std::string_view password, std::string_view salt, int rounds,
                       unsigned char (&out)[64]) override {
        bool ok = PKCS5_PBKDF2_HMAC(password.data(), int(password.size()),
                                    reinterpret_cast<const unsigned char*>(salt.data()), int(salt.size()), rounds,
                                    EVP_sha512(), sizeof out, out) == 1;
        ERR_clear_error();
        return ok;
    }
};

}  // namespace

}  // namespace mta::tls

extern "C" __attribute__((visibility("default"))) mta::tls::Engine* mta_tls_engine(unsigned want, unsigned* have) {
    static mta::tls::OpenSslEngine engine;
    if (have) *have = mta::tls::interface_version;
    if (want != mta::tls::interface_version) return nullptr;
    return &engine;
}

static_assert(std::is_same_v<decltype(mta_tls_engine), mta::tls::EntryPoint>);
