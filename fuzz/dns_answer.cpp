// Fuzz target: DNS answers as ldns hands them to us (lib/dns_answer): the
// bytes are parsed by ldns_wire2pkt and read for the question the packet
// carries (or a fixed one when it carries none) as MX, A, AAAA and TLSA.
// Properties: a reader for another type than the question's finds nothing;
// found means at least one record and nothing else does; MX targets are
// lower-case host names (or the null MX, alone) sorted by preference;
// addresses are IP addresses of the asked family; TLSA fields fit a byte and
// the data is lower-case hex; a CNAME chain leaving the packet names a
// domain name; the rcode alone decides no_domain; the AD bit is the packet's.
#include "address.hpp"
#include "dns_answer.hpp"

#include <arpa/inet.h>
#include <cstdint>
#include <cstdlib>
#include <ldns/ldns.h>
#include <string>

namespace {

using mta::dns::Found;

void require(bool ok) {
    if (!ok) std::abort();
}

bool lower_hex(const std::string& s) {
    if (s.size() % 2) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

template <typename T>
void common(const mta::dns::Answer<T>& a, const ldns_pkt* pkt, bool asked, ldns_rr_type qtype, ldns_rr_type type) {
    require(a.ad == ldns_pkt_ad(pkt));
    require((a.found == Found::yes) == !a.records.empty());
    if (!asked || qtype != type) require(a.found == Found::failed);
    if (a.found == Found::failed || a.found == Found::no_domain) require(!a.error.empty());
    if (a.found == Found::no_domain) require(ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN);
    if (a.found == Found::yes || a.found == Found::no_data) require(ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NOERROR);
    if (!a.follow.empty()) require(a.found == Found::no_data && mta::dns::askable_name(a.follow));
}

void check_mx(const mta::dns::Answer<mta::dns::Mx>& a) {
    int last = -1;
    for (auto& m : a.records) {
        require(m.preference >= 0 && m.preference <= 65535 && m.preference >= last);
        last = m.preference;
        if (m.host.empty()) {
            require(a.records.size() == 1);
            continue;
        }
        auto d = mta::Domain::try_parse(m.host);
        require(d && !d->is_literal() && d->str() == m.host);
    }
}

void check_addresses(const mta::dns::Answer<std::string>& a, bool v6) {
    unsigned char b[16];
    char back[INET6_ADDRSTRLEN];
    for (auto& s : a.records) {
        int af = v6 ? AF_INET6 : AF_INET;
        require(inet_pton(af, s.c_str(), b) == 1);
        require(inet_ntop(af, b, back, sizeof back) && s == back);
    }
}

void check_tlsa(const mta::dns::Answer<mta::Tlsa>& a) {
    for (auto& t : a.records) {
        require(t.usage >= 0 && t.usage <= 255 && t.selector >= 0 && t.selector <= 255);
        require(t.mtype >= 0 && t.mtype <= 255 && lower_hex(t.data));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ldns_pkt* pkt = nullptr;
    if (ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK || !pkt) return 0;
    std::string name = "example.org";
    ldns_rr_type qtype = LDNS_RR_TYPE_MX;
    ldns_rr_list* q = ldns_pkt_question(pkt);
    bool asked = q && ldns_rr_list_rr_count(q) == 1;
    if (asked) {
        name = mta::dns::name_text(ldns_rr_owner(ldns_rr_list_rr(q, 0)));
        qtype = ldns_rr_get_type(ldns_rr_list_rr(q, 0));
    }
    auto mx = mta::dns::read_mx(pkt, name);
    common(mx, pkt, asked, qtype, LDNS_RR_TYPE_MX);
    check_mx(mx);
    auto a = mta::dns::read_addresses(pkt, name, false);
    common(a, pkt, asked, qtype, LDNS_RR_TYPE_A);
    check_addresses(a, false);
    auto aaaa = mta::dns::read_addresses(pkt, name, true);
    common(aaaa, pkt, asked, qtype, LDNS_RR_TYPE_AAAA);
    check_addresses(aaaa, true);
    auto tlsa = mta::dns::read_tlsa(pkt, name);
    common(tlsa, pkt, asked, qtype, LDNS_RR_TYPE_TLSA);
    check_tlsa(tlsa);
    ldns_pkt_free(pkt);
    return 0;
}
