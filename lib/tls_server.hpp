// tls_server: the server side of TLS (STARTTLS and implicit TLS on 465).
//
// OpenSSL (the plugin mta-tls.so, tls_plugin.hpp) is loaded only when a
// context is made, that is when a certificate is configured; plain sessions
// never touch it. TLS 1.2 is the minimum. The certificate and key are
// loaded and checked against each other at start, with a clear error
// (EX_CONFIG) when they do not fit, and EX_UNAVAILABLE when the plugin
// cannot be loaded.
#pragma once

#include "tls_engine.hpp"

#include <memory>
#include <string>

namespace mta {

class TlsContext {
public:
    // Throws Error: config naming the file and the reason, or the plugin's
    // load failure (tls::engine()).
    static std::shared_ptr<TlsContext> load(const std::string& cert_file, const std::string& key_file);
    tls::ServerContext& get() const { return *ctx_; }

private:
    explicit TlsContext(std::unique_ptr<tls::ServerContext> c) : ctx_(std::move(c)) {}
    std::unique_ptr<tls::ServerContext> ctx_;
};

}  // namespace mta
