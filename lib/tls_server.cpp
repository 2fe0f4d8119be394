#include "tls_server.hpp"

#include "status.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace mta {

std::string tls_error() {
    unsigned long e = ERR_get_error();
    if (!e) return "unknown TLS error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

std::shared_ptr<TlsContext> TlsContext::load(const std::string& cert_file, const std::string& key_file) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) throw Error::config("cannot create a TLS context: " + tls_error());
    std::shared_ptr<TlsContext> c(new TlsContext(ctx));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // TLS 1.2: forward-secret AEAD suites only (no CBC: LUCKY13, no RSA key
    // exchange). TLS 1.3 suites are all AEAD and keep OpenSSL's defaults.
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL") != 1)
        throw Error::config("cannot set the TLS cipher list: " + tls_error());
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
        throw Error::config("TLS certificate " + cert_file + ": " + tls_error());
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        throw Error::config("TLS key " + key_file + " cannot be used with certificate " + cert_file + ": " + tls_error());
    if (SSL_CTX_check_private_key(ctx) != 1)
        throw Error::config("TLS key " + key_file + " does not match certificate " + cert_file);
    return c;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::string tls_description(SSL* ssl) {
    int alg = 0;
    const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
    int bits = c ? SSL_CIPHER_get_bits(c, &alg) : 0;
    return std::string(SSL_get_version(ssl)) + " with cipher " + (c ? SSL_CIPHER_get_name(c) : "unknown") + " (" +
           std::to_string(bits) + "/" + std::to_string(alg) + " bits)";
}

}  // namespace mta
