// tls_server: the server side of TLS (STARTTLS and implicit TLS on 465).
//
// OpenSSL is initialised only when a context is made, that is when a
// certificate is configured; plain sessions never touch it. TLS 1.2 is the
// minimum. The certificate and key are loaded and checked against each
// other at start, with a clear error (EX_CONFIG) when they do not fit.
#pragma once

#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace mta {

class TlsContext {
public:
    // Throws Error (config) naming the file and the reason.
    static std::shared_ptr<TlsContext> load(const std::string& cert_file, const std::string& key_file);
    ~TlsContext();
    SSL_CTX* get() const { return ctx_; }

private:
    explicit TlsContext(SSL_CTX* c) : ctx_(c) {}
    SSL_CTX* ctx_;
};

// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
std::string tls_description(SSL* ssl);
// The last OpenSSL error, one line.
std::string tls_error();

}  // namespace mta
