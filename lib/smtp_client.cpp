#include "smtp_client.hpp"

#include "status.hpp"
#include "tls_client.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <algorithm>

namespace mta {

namespace {

struct Attempt {
    const Route& route;
    const std::vector<OutgoingMessage>& messages;
    const SmtpClientConfig& cfg;
    TlsClient& tls;
    SendReport& report;
};

// Recipients of message i still to try.
std::vector<size_t> open_recipients(const SendReport& rep, size_t i) {
    std::vector<size_t> out;
    for (size_t r = 0; r < rep.results[i].size(); ++r)
        if (!rep.results[i][r].final) out.push_back(r);
    return out;
}

bool anything_open(const SendReport& rep) {
    for (size_t i = 0; i < rep.results.size(); ++i)
        if (!open_recipients(rep, i).empty()) return true;
    return false;
}

void fail_open(SendReport& rep, const Status& s, bool final, const std::string& host) {
    for (auto& msg : rep.results)
        for (auto& r : msg)
            if (!r.final) r = RecipientResult{s, final, host};
}

// Sends message i to its open recipients over c: at most
// recipient_limit in a transaction, RSET before one that follows a
// transaction the server may still hold (`left_open`, send_transaction).
// Recipients refused with 452 (too many recipients, RFC 5321 4.5.3.1.10)
// go in another transaction as long as each delivers to some. False when
// the connection can no longer be used.
bool send_message(Attempt& a, SmtpConnection& c, const ServerFeatures& f, size_t i, const std::string& label,
                  bool& left_open) {
    const SmtpTimeouts& t = a.cfg.timeouts;
    const size_t limit = std::max<size_t>(1, a.cfg.recipient_limit);
    auto open = open_recipients(a.report, i);
    for (size_t start = 0; start < open.size(); start += limit) {
        std::vector<size_t> which(open.begin() + long(start), open.begin() + long(std::min(open.size(), start + limit)));
        while (!which.empty()) {
            if (left_open && !reset(c, t)) {
                log::info("{}: RSET refused; closing the connection", label);
                c.close();
                return false;
            }
            if (!send_transaction(c, f, a.messages[i], which, t, label, a.report.results[i], left_open)) return false;
            std::vector<size_t> again;
            bool progress = false;
            for (size_t r : which) {
                const RecipientResult& res = a.report.results[i][r];
                if (res.status.code == 452 && !res.final) again.push_back(r);
                else if (res.status.is_ok()) progress = true;
            }
            if (!progress) break;
            which = std::move(again);
        }
    }
    return true;
}

// One connection to one address. `use_tls` false: a retry in plain text
// after a failed opportunistic handshake.
void session(Attempt& a, const RouteHost& h, const std::string& address, bool use_tls) {
    const SmtpTimeouts& t = a.cfg.timeouts;
    // DANE is per MX host (RFC 7672): a host may carry its own, stronger
    // policy and TLSA records (hosttls=, hosttlsa= in the route line).
    std::string policy_name = a.route.tls;
    const std::vector<Tlsa>* tlsa = &a.route.tlsa;
    for (auto& ht : a.route.host_tls) {
        if (ht.host != h.name) continue;
        if (!ht.tls.empty()) policy_name = ht.tls;
        if (!ht.tlsa.empty()) tlsa = &ht.tlsa;
    }
    TlsPolicy policy = parse_tls_policy(policy_name);
    std::string label = host_label(h.name, address, h.port);
    std::unique_ptr<SmtpConnection> c;
    try {
        if (a.cfg.trace) std::fprintf(a.cfg.trace, "--- connecting to %s\n", label.c_str());
        c = SmtpConnection::open(address, h.port, t.connect);
        c->trace(a.cfg.trace);
    } catch (const Error& e) {
        log::info("{}", e.status().text);
        fail_open(a.report, e.status(), false, "-");
        return;
    }
    try {
        SmtpReply g = c->read_reply(t.greeting, "while receiving the initial server greeting");
        if (g.code != 220) {
            // 4xx, 5xx (Postfix's smtp_skip_5xx_greeting) or 421: next host.
            Status s = g.status("X.0.0");
            log::info("host {} refused to talk to me: {}", label, g.one_line());
            fail_open(a.report, s, false, label);
            quit(*c, t);
            return;
        }
        ++a.report.connections;
        ServerFeatures f = say_hello(*c, a.cfg.helo_name, t);
        if (policy != TlsPolicy::none && use_tls && f.starttls) {
            // Without the TLS plugin a required policy fails here, before
            // STARTTLS; "may" goes on in plain text, as with no STARTTLS.
            try {
                a.tls.available();
            } catch (const Error& e) {
                if (tls_required(policy)) throw;
                log::warning("{}: {}; sending without TLS (policy {})", label, e.status().text, policy_name);
                use_tls = false;
            }
        }
        if (policy != TlsPolicy::none && use_tls && f.starttls) {
            SmtpReply r = c->command("STARTTLS", t.helo, "in reply to STARTTLS command");
            if (r.code == 220) {
                try {
                    size_t dropped = c->start_tls(a.tls, policy, h.name, *tlsa, t.tls);
                    if (dropped)
                        log::warning("{}: discarded {} bytes the server sent before the TLS handshake", label, dropped);
                } catch (const Error& e) {
                    if (tls_required(policy)) throw;
                    // Opportunistic: try once more without TLS, as Postfix does.
                    log::info("{}: {}; trying again without TLS", label, e.status().text);
                    c->close();
                    session(a, h, address, false);
                    return;
                }
                log::info("{}: TLS connection established: {}", label, c->tls()->summary());
                f = say_hello(*c, a.cfg.helo_name, t);
            } else if (tls_required(policy)) {
                throw Error(Status::temporary(454, "4.7.4", "STARTTLS refused: " + r.one_line()));
            }
        }
        if (tls_required(policy) && !c->tls())
            throw Error(Status::temporary(454, "4.7.4",
                                          "TLS is required (policy " + policy_name + ") but " + label +
                                              " does not offer STARTTLS"));
        if (!a.route.auth.empty()) {
            if (!a.cfg.credentials)
                throw Error::config("route needs credentials " + a.route.auth + " but none were loaded");
            if (!c->tls() && !a.cfg.auth_without_tls)
                throw Error(Status::temporary(454, "4.7.0", "will not send credentials to " + label + " without TLS"));
            authenticate(*c, f.auth, *a.cfg.credentials, t);
        }
        bool left_open = false;
        for (size_t i = 0; i < a.messages.size(); ++i)
            if (!send_message(a, *c, f, i, label, left_open)) return;
        quit(*c, t);
    } catch (const Error& e) {
        fail_open(a.report, e.status(), e.exit_code() == ex::config, label);
        c->close();
    }
}

}  // namespace

std::string host_label(const std::string& name, const std::string& address, std::uint16_t port) {
    std::string n = name;
    if (n.size() > 2 && n.front() == '[' && n.back() == ']') n = address;
    return n + "[" + address + "]:" + std::to_string(port);
}

std::vector<std::string> resolve_host(const std::string& name) {
    std::string n = name;
    if (n.size() > 2 && n.front() == '[' && n.back() == ']') {
        n = n.substr(1, n.size() - 2);
        if (n.rfind("IPv6:", 0) == 0 || n.rfind("ipv6:", 0) == 0) n = n.substr(5);
        return {n};
    }
    struct addrinfo hints = {}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    int g = ::getaddrinfo(n.c_str(), nullptr, &hints, &res);
    if (g == EAI_NONAME || g == EAI_NODATA)
        throw Error(Status::permanent(550, "5.1.2", "host " + name + " not found"));
    if (g != 0) throw Error(Status::temporary(451, "4.4.3", "cannot resolve " + name + ": " + gai_strerror(g)));
    std::vector<std::string> out;
    for (auto* p = res; p; p = p->ai_next) {
        char buf[NI_MAXHOST];
        if (::getnameinfo(p->ai_addr, p->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) == 0 &&
            std::find(out.begin(), out.end(), buf) == out.end())
            out.push_back(buf);
    }
    ::freeaddrinfo(res);
    return out;
}

SendReport send_route(const Route& route, const std::vector<OutgoingMessage>& messages, const SmtpClientConfig& cfg) {
    SendReport rep;
    for (auto& m : messages) {
        std::vector<RecipientResult> rs(m.recipients.size());
        for (size_t r = 0; r < rs.size(); ++r)
            if (m.recipients[r].error) rs[r] = RecipientResult{*m.recipients[r].error, true, "-"};
        rep.results.push_back(std::move(rs));
    }
    if (route.kind == RouteKind::error || route.kind == RouteKind::local) {
        Status s = route.kind == RouteKind::error
                       ? route.error
                       : Status::temporary(451, "4.3.5", "route for " + route.domain + " is local: mta-deliver delivers it");
        fail_open(rep, s, true, "-");
        return rep;
    }
    TlsClient tls(cfg.ca_file);
    Attempt a{route, messages, cfg, tls, rep};
    for (auto& h : route.hosts) {
        std::vector<std::string> addrs = h.addresses;
        if (addrs.empty()) {
            try {
                addrs = resolve_host(h.name);
            } catch (const Error& e) {
                fail_open(rep, e.status(), false, "-");
                continue;
            }
        }
        for (auto& addr : addrs) {
            if (!anything_open(rep)) return rep;
            session(a, h, addr, true);
        }
    }
    return rep;
}

}  // namespace mta
