// tls_client: the client side of STARTTLS (RFC 3207).
//
// OpenSSL is the plugin mta-tls.so (tls_plugin.hpp), loaded by the first
// handshake, or by available() before a STARTTLS is sent.
//
// Policies (the route's tls= word, docs/contracts.md §3):
//   none     never STARTTLS
//   may      STARTTLS when offered, certificate not checked
//   encrypt  STARTTLS required, certificate not checked
//   verify   STARTTLS required, the certificate must chain to a trusted CA
//            and name the host (X509_check_host)
//   dane     RFC 7672: STARTTLS required, the certificate must match one of
//            the route's TLSA records of usage DANE-TA(2) or DANE-EE(3);
//            when no record is usable the policy is encrypt (RFC 7672 2.2)
// TLS 1.2 is the minimum. A required policy that fails is a temporary
// failure of that host (4.7.x); mail is never sent in plain text instead.
#pragma once

#include "route.hpp"
#include "tls_engine.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

using Deadline = std::chrono::steady_clock::time_point;

enum class TlsPolicy { none, may, encrypt, verify, dane };
// Throws Error (usage) for a word that is not a policy.
TlsPolicy parse_tls_policy(std::string_view s);
std::string_view to_string(TlsPolicy p);
// True when the policy forbids a plain-text session.
inline bool tls_required(TlsPolicy p) { return p != TlsPolicy::none && p != TlsPolicy::may; }

// One TLS session over a connected, non-blocking socket.
class TlsSession {
public:
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // Reads up to n bytes; 0 at the end of the stream. Throws Error
    // (temporary) on a timeout or a TLS error.
    size_t read(char* buf, size_t n, Deadline d);
    void write(std::string_view data, Deadline d);
    // Sends close_notify, without waiting for the peer's.
    void shutdown();
    // "TLSv1.3 TLS_AES_256_GCM_SHA384 verified" (for logs).
    const std::string& summary() const { return summary_; }
    bool authenticated() const { return authenticated_; }

private:
    friend class TlsClient;
    TlsSession(std::unique_ptr<tls::Session> s, int fd) : s_(std::move(s)), fd_(fd) {}
    // Drives one step to its end; returns false at the end of the stream.
    bool drive(std::string_view what, Deadline d, const std::function<tls::Step()>& step);
    std::unique_ptr<tls::Session> s_;
    int fd_;
    std::string summary_;
    bool authenticated_ = false;
};

class TlsClient {
public:
    // ca_file: PEM trust anchors for verify (and DANE-TA chains); ""
    // means the system's default store.
    explicit TlsClient(std::string ca_file = "");
    ~TlsClient();
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    // Loads the TLS plugin when it is not yet loaded. Throws Error
    // (temporary 454 4.7.0) naming the plugin file when it cannot.
    void available();

    // The handshake as `policy` asks, with host as the SNI name and the
    // reference identifier. Throws Error (temporary 4.7.5) when the
    // handshake fails or the policy's checks do not pass.
    std::unique_ptr<TlsSession> handshake(int fd, TlsPolicy policy, const std::string& host,
                                          const std::vector<Tlsa>& tlsa, Deadline d);

private:
    tls::ClientContext& context();
    std::string ca_file_;
    std::unique_ptr<tls::ClientContext> ctx_;
};

// Waits until fd is readable (or writable); throws Error (temporary 4.4.2)
// when the deadline passes first.
void wait_fd(int fd, bool for_write, Deadline d, std::string_view what);

}  // namespace mta
