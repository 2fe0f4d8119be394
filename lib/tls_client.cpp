#include "tls_client.hpp"

#include "status.hpp"

#include "tls_plugin.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>

namespace mta {

namespace {

Error tls_error(std::string text) { return Error(Status::temporary(454, "4.7.5", std::move(text))); }

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

TlsSession::~TlsSession() = default;

bool TlsSession::drive(std::string_view what, Deadline d, const std::function<tls::Step()>& step) {
    while (true) {
        switch (step()) {
        case tls::Step::done: return true;
        case tls::Step::want_read: wait_fd(fd_, false, d, what); break;
        case tls::Step::want_write: wait_fd(fd_, true, d, what); break;
        case tls::Step::closed: return false;
        case tls::Step::lost:
            throw Error(Status::temporary(451, "4.4.2", "lost connection during TLS " + std::string(what)));
        case tls::Step::failed: throw tls_error("TLS " + std::string(what) + " failed: " + s_->error());
        }
    }
}

size_t TlsSession::read(char* buf, size_t n, Deadline d) {
    size_t got = 0;
    drive("read", d, [&] { return s_->read(buf, n, got); });
    return got;
}

void TlsSession::write(std::string_view data, Deadline d) {
    while (!data.empty()) {
        size_t put = 0;
        if (!drive("write", d, [&] { return s_->write(data.data(), data.size(), put); }) || put == 0)
            throw Error(Status::temporary(451, "4.4.2", "lost connection during TLS write"));
        data.remove_prefix(put);
    }
}

void TlsSession::shutdown() { s_->shutdown(); }

TlsClient::TlsClient(std::string ca_file) : ca_file_(std::move(ca_file)) {}

TlsClient::~TlsClient() = default;

void TlsClient::available() { tls::engine(); }

tls::ClientContext& TlsClient::context() {
    if (ctx_) return *ctx_;
    tls::Failure f;
    ctx_ = tls::engine().client(ca_file_, f);
    if (!ctx_) throw f.config ? Error::config(f.text) : tls_error(f.text);
    return *ctx_;
}

std::unique_ptr<TlsSession> TlsClient::handshake(int fd, TlsPolicy policy, const std::string& host,
                                                 const std::vector<Tlsa>& tlsa, Deadline d) {
    bool named = !host.empty() && host.front() != '[';
    tls::Check check = tls::Check::none;
    std::vector<tls::TlsaRecord> records;
    if (policy == TlsPolicy::dane) {
        check = tls::Check::dane;
        for (auto& t : tlsa) {
            // RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP.
            if (t.usage != 2 && t.usage != 3) continue;
            auto data = unhex(t.data);
            if (data.empty()) continue;
            records.push_back({uint8_t(t.usage), uint8_t(t.selector), uint8_t(t.mtype), std::move(data)});
        }
    } else if (policy == TlsPolicy::verify) {
        if (!named) throw tls_error("policy verify needs a host name, not " + host);
        check = tls::Check::pkix;
    }
    int usable = 0;
    std::string why;
    auto session = context().session(fd, named ? host : "", check, named || check == tls::Check::pkix ? host : "",
                                     records, usable, why);
    if (!session) throw tls_error(why);
    // RFC 7672 2.2: with no usable TLSA record the policy is encrypt.
    if (check == tls::Check::dane && usable == 0) {
        check = tls::Check::none;
        policy = TlsPolicy::encrypt;
    }
    std::unique_ptr<TlsSession> s(new TlsSession(std::move(session), fd));
    if (!s->drive("handshake", d, [&] { return s->s_->handshake(); }))
        throw Error(Status::temporary(451, "4.4.2", "lost connection during TLS handshake"));

    std::string verdict = "not verified";
    if (check != tls::Check::none) {
        if (std::string bad = s->s_->check_peer(check, host); !bad.empty()) throw tls_error(bad);
        s->authenticated_ = true;
        verdict = check == tls::Check::dane ? "dane-verified" : "verified";
    }
    s->summary_ = s->s_->protocol_and_cipher() + " " + verdict;
    return s;
}

}  // namespace mta
