#include "dns_resolver.hpp"

#include "status.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <ldns/ldns.h>

namespace mta::dns {

namespace {

constexpr int max_cname_hops = 8;

bool is_loopback(const std::string& addr) {
    unsigned char b[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, addr.c_str(), b) == 1) return b[0] == 127;
    if (inet_pton(AF_INET6, addr.c_str(), b) == 1) {
        static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return std::equal(b, b + 16, one);
    }
    return false;
}

struct PktDeleter {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktDeleter>;

}  // namespace

std::pair<std::string, std::uint16_t> parse_server(const std::string& s) {
    std::string addr = s, port;
    bool has_port = false;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string::npos) throw Error::usage("bad resolver address " + s);
        addr = s.substr(1, close - 1);
        if (close + 1 < s.size()) {
            if (s[close + 1] != ':') throw Error::usage("bad resolver address " + s);
            port = s.substr(close + 2);
            has_port = true;
        }
    } else if (auto c = s.find(':'); c != std::string::npos && s.find(':', c + 1) == std::string::npos) {
        addr = s.substr(0, c);
        port = s.substr(c + 1);
        has_port = true;
    }
    unsigned char b[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, addr.c_str(), b) != 1 && inet_pton(AF_INET6, addr.c_str(), b) != 1)
        throw Error::usage("resolver must be an IP address[:port], not " + s);
    unsigned p = 53;
    if (has_port) {
        auto [e, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || e != port.data() + port.size() || p == 0 || p > 65535)
            throw Error::usage("bad resolver port in " + s);
    }
    return {addr, std::uint16_t(p)};
}

struct Resolver::Impl {
    ldns_resolver* res = nullptr;
    bool trust_ad = false;
    std::function<void(const std::string&)> trace;

    // "MX example.org: NOERROR ad: example.org. 300 IN MX 10 mx.example.org. | ..."
    static std::string describe(const std::string& name, const char* type, ldns_pkt* pkt, const std::string& error) {
        std::string out = std::string(type) + " " + name + ": ";
        if (!pkt) return out + error;
        const char* rn = "rcode?";
        if (auto* l = ldns_lookup_by_id(ldns_rcodes, int(ldns_pkt_get_rcode(pkt)))) rn = l->name;
        out += rn;
        if (ldns_pkt_ad(pkt)) out += " ad";
        ldns_rr_list* ans = ldns_pkt_answer(pkt);
        for (size_t i = 0; ans && i < ldns_rr_list_rr_count(ans); ++i) {
            char* t = ldns_rr2str(ldns_rr_list_rr(ans, i));
            if (!t) continue;
            std::string rr = t;
            free(t);
            for (char& c : rr)
                if (c == '\t' || c == '\n') c = ' ';
            while (!rr.empty() && rr.back() == ' ') rr.pop_back();
            out += (i ? " | " : ": ") + rr;
        }
        return out;
    }

    ~Impl() {
        if (res) ldns_resolver_deep_free(res);
    }

    // One query; nullptr and `error` set when no answer came.
    Pkt send(const std::string& name, ldns_rr_type type, std::string& error) {
        ldns_rdf* qname = ldns_dname_new_frm_str((name + ".").c_str());
        if (!qname) {
            error = "bad name " + name;
            return nullptr;
        }
        ldns_pkt* query = nullptr;
        ldns_status st = ldns_resolver_prepare_query_pkt(&query, res, qname, type, LDNS_RR_CLASS_IN, LDNS_RD);
        ldns_rdf_deep_free(qname);
        if (st != LDNS_STATUS_OK) {
            error = ldns_get_errorstr_by_id(st);
            return nullptr;
        }
        // RFC 6840 section 5.7: AD in the query asks for AD in the answer.
        if (ldns_resolver_dnssec(res)) ldns_pkt_set_ad(query, true);
        ldns_pkt* answer = nullptr;
        st = ldns_resolver_send_pkt(&answer, res, query);
        std::uint16_t id = ldns_pkt_id(query);
        ldns_pkt_free(query);
        if (st != LDNS_STATUS_OK || !answer) {
            if (answer) ldns_pkt_free(answer);
            error = st == LDNS_STATUS_OK ? "no answer" : ldns_get_errorstr_by_id(st);
            error = "no answer from the name server (" + error + ")";
            return nullptr;
        }
        Pkt a(answer);
        if (ldns_pkt_id(answer) != id) {
            error = "the name server answered another question";
            return nullptr;
        }
        return a;
    }

    // Resolves name/type: each answer read by `read`, asking again for the
    // target of a CNAME chain that leaves the answer.
    template <typename T, typename Read>
    Lookup<T> resolve(std::string name, ldns_rr_type type, Read read) {
        Lookup<T> out;
        out.secure = trust_ad;
        const char* tname = ldns_rr_descript(type) ? ldns_rr_descript(type)->_name : "?";
        for (int hop = 0; hop <= max_cname_hops; ++hop) {
            std::string error;
            Pkt pkt = send(name, type, error);
            if (trace) trace(describe(name, tname, pkt.get(), error));
            if (!pkt) {
                out.found = Found::failed;
                out.error = std::string(tname) + " lookup of " + name + ": " + error;
                return out;
            }
            Answer<T> a = read(pkt.get(), name);
            out.secure = out.secure && a.ad;
            if (!a.follow.empty()) {
                name = a.follow;  // the chain ends outside this answer: ask for the target
                continue;
            }
            out.found = a.found;
            out.records = std::move(a.records);
            out.error = std::move(a.error);
            return out;
        }
        out.found = Found::failed;
        out.error = "CNAME chain too long at " + name;
        return out;
    }
};

Resolver::Resolver(const ResolverOptions& o) : impl_(std::make_unique<Impl>()) {
    // impl_ owns the ldns resolver from its creation: a throw below frees it.
    ldns_resolver* r = nullptr;
    bool all_loopback = true;
    if (o.servers.empty()) {
        if (ldns_resolver_new_frm_file(&r, nullptr) != LDNS_STATUS_OK || !r)
            throw Error::config("cannot read the name servers of /etc/resolv.conf");
        impl_->res = r;
    } else {
        r = impl_->res = ldns_resolver_new();
        if (!r) throw Error::temp("out of memory");
        std::uint16_t port = 0;
        for (auto& s : o.servers) {
            auto [addr, p] = parse_server(s);
            if (port && p != port) throw Error::usage("every resolver must use the same port");
            port = p;
            ldns_rdf* a = ldns_rdf_new_frm_str(addr.find(':') == std::string::npos ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
                                               addr.c_str());
            ldns_status st = a ? ldns_resolver_push_nameserver(r, a) : LDNS_STATUS_ERR;
            if (a) ldns_rdf_deep_free(a);
            if (st != LDNS_STATUS_OK) throw Error::usage("bad resolver address " + s);
        }
        ldns_resolver_set_port(r, port);
    }
    if (ldns_resolver_nameserver_count(r) == 0) throw Error::config("no name server configured");
    for (size_t i = 0; i < ldns_resolver_nameserver_count(r); ++i)
        all_loopback = all_loopback && is_loopback(name_text(ldns_resolver_nameservers(r)[i]));
    ldns_resolver_set_recursive(r, true);
    ldns_resolver_set_defnames(r, false);
    ldns_resolver_set_dnsrch(r, false);
    ldns_resolver_set_random(r, false);
    ldns_resolver_set_fallback(r, true);  // truncated over UDP: ask again over TCP
    ldns_resolver_set_usevc(r, false);
    ldns_resolver_set_igntc(r, false);
    ldns_resolver_set_timeout(r, timeval{o.timeout > 0 ? o.timeout : 1, 0});
    ldns_resolver_set_retry(r, std::uint8_t(o.attempts > 0 ? std::min(o.attempts, 10) : 1));
    ldns_resolver_set_retrans(r, 1);
    ldns_resolver_set_dnssec(r, o.dnssec);
    ldns_resolver_set_edns_udp_size(r, o.dnssec ? 1232 : 0);
    trust_ad_ = impl_->trust_ad = o.dnssec && all_loopback;
    impl_->trace = o.trace;
}

Resolver::~Resolver() = default;

Lookup<Mx> Resolver::mx(const std::string& name) {
    return impl_->resolve<Mx>(name, LDNS_RR_TYPE_MX, read_mx);
}

Lookup<std::string> Resolver::addresses(const std::string& name, bool v6, bool v4) {
    Lookup<std::string> out;
    out.found = Found::no_data;
    out.secure = trust_ad_;
    bool any = false;
    for (auto type : {LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_A}) {
        bool six = type == LDNS_RR_TYPE_AAAA;
        if ((six && !v6) || (!six && !v4)) continue;
        auto l = impl_->resolve<std::string>(
            name, type, [six](const ldns_pkt* p, const std::string& n) { return read_addresses(p, n, six); });
        out.secure = out.secure && l.secure;
        if (l.found == Found::failed) {
            // One family failing is a failure only when the other finds nothing.
            out.error = l.error;
            any = true;
            continue;
        }
        if (l.found == Found::no_domain) {
            out.found = Found::no_domain;
            out.error = l.error;
            return out;
        }
        out.records.insert(out.records.end(), l.records.begin(), l.records.end());
    }
    if (!out.records.empty()) out.found = Found::yes;
    else if (any) out.found = Found::failed;
    return out;
}

Lookup<Tlsa> Resolver::tlsa(const std::string& name) {
    return impl_->resolve<Tlsa>(name, LDNS_RR_TYPE_TLSA, read_tlsa);
}

}  // namespace mta::dns
