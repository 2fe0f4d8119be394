// tls_engine: what the programs ask of OpenSSL, as a small C++ interface.
//
// The one implementation lives in the shared object mta-tls.so (sources in
// lib/tls/), the only part of the toolkit linked against libssl and
// libcrypto. A program loads it with tls::engine() (tls_plugin.hpp) when it
// first needs TLS, DANE or password hashing, so that a session which needs
// none of them never maps OpenSSL nor pays for its relocations.
//
// The interface crosses a dlopen boundary: no exceptions cross it (every
// failure is a return value and a text), objects are made by the engine and
// destroyed through their virtual destructors, and the entry point checks
// interface_version so that a program and a plugin of different builds
// refuse each other instead of misbehaving.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mta::tls {

// Raised whenever a class below or the meaning of a call changes.
inline constexpr unsigned interface_version = 1;

// How one non-blocking step ended.
enum class Step {
    done,        // the handshake finished, or bytes were moved
    want_read,   // call again when the socket is readable
    want_write,  // call again when the socket is writable
    closed,      // the peer sent close_notify
    lost,        // the transport ended without close_notify
    failed,      // a TLS error: error() says which
};

// What the client checks of the server's certificate after the handshake.
enum class Check { none, pkix, dane };

// One TLSA record (RFC 6698) with its association data as bytes.
struct TlsaRecord {
    std::uint8_t usage = 0, selector = 0, mtype = 0;
    std::vector<unsigned char> data;
};

// One TLS session over a connected, non-blocking socket.
class Session {
public:
    virtual ~Session() = default;
    virtual Step handshake() = 0;
    virtual Step read(char* buf, std::size_t n, std::size_t& got) = 0;
    virtual Step write(const char* buf, std::size_t n, std::size_t& put) = 0;
    // Sends close_notify without waiting for the peer's.
    virtual void shutdown() = 0;
    // The TLS errors of the last failed step, one line; clears them.
    virtual std::string error() = 0;
    // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
    virtual std::string description() const = 0;
    // "TLSv1.3 TLS_AES_256_GCM_SHA384"
    virtual std::string protocol_and_cipher() const = 0;
    // Client, after the handshake: "" when the server's certificate passes
    // `check` (pkix: chains to a trust anchor and names the host given to
    // ClientContext::session; dane: matches a TLSA record), else why not.
    virtual std::string check_peer(Check check, const std::string& host) = 0;
};

// A certificate and key, loaded and checked once; one Session per client.
class ServerContext {
public:
    virtual ~ServerContext() = default;
    // nullptr with `error` set when no session can be made.
    virtual std::unique_ptr<Session> session(int rfd, int wfd, std::string& error) = 0;
};

class ClientContext {
public:
    virtual ~ClientContext() = default;
    // A session on fd. sni: the server name to send ("" none). check pkix:
    // `host` is the name the certificate must carry. check dane: `tlsa` are
    // the records to match (host, when not "", the name for DANE-TA
    // chains); `usable` is set to how many of them could be used.
    virtual std::unique_ptr<Session> session(int fd, const std::string& sni, Check check, const std::string& host,
                                             const std::vector<TlsaRecord>& tlsa, int& usable,
                                             std::string& error) = 0;
};

// What went wrong making a context: `config` when the configuration is at
// fault (an unreadable certificate, a key that does not fit, trust anchors
// that cannot be loaded), not the moment.
struct Failure {
    bool config = false;
    std::string text;
};

class Engine {
public:
    // TLS 1.2 at least, forward-secret AEAD suites only, no session cache.
    virtual std::unique_ptr<ServerContext> server(const std::string& cert_file, const std::string& key_file,
                                                  Failure& failure) = 0;
    // TLS 1.2 at least. ca_file: PEM trust anchors; "" the system's store.
    virtual std::unique_ptr<ClientContext> client(const std::string& ca_file, Failure& failure) = 0;
    // PBKDF2-HMAC-SHA512 (RFC 8018) of 64 bytes into out; false on failure.
    virtual bool pbkdf2_sha512(std::string_view password, std::string_view salt, int rounds,
                               unsigned char (&out)[64]) = 0;

protected:
    ~Engine() = default;  // the engine lives as long as the process
};

// The one symbol mta-tls.so exports. It stores its own interface_version
// in *have and returns its engine, or nullptr when `want` differs.
using EntryPoint = Engine*(unsigned want, unsigned* have);
inline constexpr const char* entry_point_name = "mta_tls_engine";

}  // namespace mta::tls
