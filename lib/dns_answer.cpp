#include "dns_answer.hpp"

#include "address.hpp"
#include "ascii.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstdlib>
#include <ldns/ldns.h>

namespace mta::dns {

namespace {

constexpr int max_cname_hops = 8;

std::string hex(const ldns_rdf* rdf) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    if (!rdf) return out;
    const std::uint8_t* p = ldns_rdf_data(rdf);
    for (size_t i = 0; i < ldns_rdf_size(rdf); ++i) {
        out.push_back(digits[p[i] >> 4]);
        out.push_back(digits[p[i] & 15]);
    }
    return out;
}

std::string type_name(ldns_rr_type type) {
    const ldns_rr_descriptor* d = ldns_rr_descript(type);
    return d && d->_name ? d->_name : "?";
}

bool is_host_name(const std::string& h) {
    auto d = Domain::try_parse(h);
    return d && !d->is_literal();
}

// One record of the wanted type as a value; false when it cannot be one.
template <typename T>
using Take = bool (*)(std::vector<T>&, const ldns_rr*);

template <typename T>
Answer<T> read(const ldns_pkt* pkt, const std::string& name, ldns_rr_type type, Take<T> take) {
    Answer<T> out;
    const std::string what = type_name(type) + " lookup of " + name;
    if (!pkt) {
        out.error = what + ": no answer";
        return out;
    }
    out.ad = ldns_pkt_ad(pkt);
    const std::string want = ascii::lower(name);
    ldns_rr_list* q = ldns_pkt_question(pkt);
    if (!q || ldns_rr_list_rr_count(q) != 1 || name_text(ldns_rr_owner(ldns_rr_list_rr(q, 0))) != want ||
        ldns_rr_get_type(ldns_rr_list_rr(q, 0)) != type) {
        out.error = what + ": the name server answered another question";
        return out;
    }
    ldns_pkt_rcode rc = ldns_pkt_get_rcode(pkt);
    if (rc == LDNS_RCODE_NXDOMAIN) {
        out.found = Found::no_domain;
        out.error = name + " does not exist";
        return out;
    }
    if (rc != LDNS_RCODE_NOERROR) {
        const char* rn = "error";
        if (auto* l = ldns_lookup_by_id(ldns_rcodes, int(rc))) rn = l->name;
        out.error = what + ": " + rn;
        return out;
    }
    ldns_rr_list* ans = ldns_pkt_answer(pkt);
    size_t n = ans ? ldns_rr_list_rr_count(ans) : 0;
    // The CNAME chain inside the answer, at most max_cname_hops long.
    std::string cur = want;
    for (int c = 0; c <= max_cname_hops; ++c) {
        bool moved = false;
        for (size_t i = 0; i < n && !moved; ++i) {
            const ldns_rr* rr = ldns_rr_list_rr(ans, i);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
                ldns_rr_rd_count(rr) == 1 && name_text(ldns_rr_owner(rr)) == cur) {
                cur = name_text(ldns_rr_rdf(rr, 0));
                moved = true;
            }
        }
        if (!moved) break;
        if (!askable_name(cur)) {
            out.error = what + ": CNAME to a name that is no domain name";
            return out;
        }
    }
    size_t unusable = 0;
    for (size_t i = 0; i < n; ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(ans, i);
        if (ldns_rr_get_type(rr) == type && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
            name_text(ldns_rr_owner(rr)) == cur && !take(out.records, rr))
            ++unusable;
    }
    if (!out.records.empty()) {
        out.found = Found::yes;
    } else if (unusable) {
        out.error = what + ": malformed " + type_name(type) + " record";
    } else {
        out.found = Found::no_data;
        if (cur != want) out.follow = cur;
    }
    return out;
}

bool take_mx(std::vector<Mx>& v, const ldns_rr* rr) {
    if (ldns_rr_rd_count(rr) != 2 || ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) != LDNS_RDF_TYPE_INT16 ||
        ldns_rdf_size(ldns_rr_rdf(rr, 0)) != 2)
        return false;
    std::string host = name_text(ldns_rr_rdf(rr, 1));
    if (!host.empty() && !is_host_name(host)) return false;
    v.push_back({int(ldns_rdf2native_int16(ldns_rr_rdf(rr, 0))), host});
    return true;
}

bool take_address(std::vector<std::string>& v, const ldns_rr* rr, ldns_rdf_type rt, int family, size_t size) {
    if (ldns_rr_rd_count(rr) != 1) return false;
    const ldns_rdf* a = ldns_rr_rdf(rr, 0);
    if (ldns_rdf_get_type(a) != rt || ldns_rdf_size(a) != size) return false;
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, ldns_rdf_data(a), buf, sizeof buf)) return false;
    v.push_back(buf);
    return true;
}

bool take_a(std::vector<std::string>& v, const ldns_rr* rr) { return take_address(v, rr, LDNS_RDF_TYPE_A, AF_INET, 4); }
bool take_aaaa(std::vector<std::string>& v, const ldns_rr* rr) {
    return take_address(v, rr, LDNS_RDF_TYPE_AAAA, AF_INET6, 16);
}

bool take_tlsa(std::vector<Tlsa>& v, const ldns_rr* rr) {
    if (ldns_rr_rd_count(rr) != 4) return false;
    // ldns types the three fields CERTIFICATE_USAGE, SELECTOR, MATCHING_TYPE: one byte each.
    for (size_t i = 0; i < 3; ++i)
        if (ldns_rdf_size(ldns_rr_rdf(rr, i)) != 1) return false;
    v.push_back({int(ldns_rdf2native_int8(ldns_rr_rdf(rr, 0))), int(ldns_rdf2native_int8(ldns_rr_rdf(rr, 1))),
                 int(ldns_rdf2native_int8(ldns_rr_rdf(rr, 2))), hex(ldns_rr_rdf(rr, 3))});
    return true;
}

}  // namespace

std::string name_text(const ldns_rdf* rdf) {
    if (!rdf) return "";
    char* s = ldns_rdf2str(rdf);
    if (!s) return "";
    std::string r = ascii::lower(s);
    free(s);
    if (r.size() > 1 && r.back() == '.') r.pop_back();
    if (r == ".") r.clear();
    return r;
}

bool askable_name(const std::string& s) {
    if (s.empty() || s.size() > 253) return false;
    size_t label = 0;
    for (char c : s) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok || ++label > 63) return false;
    }
    return label > 0;
}

Answer<Mx> read_mx(const ldns_pkt* pkt, const std::string& name) {
    Answer<Mx> a = read<Mx>(pkt, name, LDNS_RR_TYPE_MX, take_mx);
    if (a.found != Found::yes) return a;
    auto null = [](const Mx& m) { return m.host.empty(); };
    if (std::all_of(a.records.begin(), a.records.end(), null)) a.records.resize(1);
    else std::erase_if(a.records, null);
    std::stable_sort(a.records.begin(), a.records.end(),
                     [](const Mx& x, const Mx& y) { return x.preference < y.preference; });
    return a;
}

Answer<std::string> read_addresses(const ldns_pkt* pkt, const std::string& name, bool v6) {
    return v6 ? read<std::string>(pkt, name, LDNS_RR_TYPE_AAAA, take_aaaa)
              : read<std::string>(pkt, name, LDNS_RR_TYPE_A, take_a);
}

Answer<Tlsa> read_tlsa(const ldns_pkt* pkt, const std::string& name) {
    return read<Tlsa>(pkt, name, LDNS_RR_TYPE_TLSA, take_tlsa);
}

}  // namespace mta::dns
