// dns_answer: answer packets built with ldns, sent through the wire form
// (ldns_pkt2wire, ldns_wire2pkt) the way the resolver receives them.
#include "dns_answer.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ldns/ldns.h>
#include <memory>
#include <string>
#include <vector>

using namespace mta::dns;

namespace {

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

Pkt from_wire(const std::vector<std::uint8_t>& wire) {
    ldns_pkt* p = nullptr;
    REQUIRE(ldns_wire2pkt(&p, wire.data(), wire.size()) == LDNS_STATUS_OK);
    return Pkt(p);
}

// An answer to "QNAME IN QTYPE" (no question when qname is empty) with the
// given rcode, flags and answer records in zone file form.
Pkt answer(const std::string& qname, ldns_rr_type qtype, ldns_pkt_rcode rcode, const std::vector<std::string>& records,
           bool ad = false) {
    Pkt built(ldns_pkt_new());
    REQUIRE(built);
    ldns_pkt* p = built.get();
    ldns_pkt_set_id(p, 4242);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_rd(p, true);
    ldns_pkt_set_ra(p, true);
    ldns_pkt_set_ad(p, ad);
    ldns_pkt_set_rcode(p, std::uint8_t(rcode));
    if (!qname.empty()) {
        ldns_rr* q = ldns_rr_new();
        ldns_rr_set_question(q, true);
        ldns_rr_set_owner(q, ldns_dname_new_frm_str((qname + ".").c_str()));
        ldns_rr_set_type(q, qtype);
        ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
        REQUIRE(ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q));
    }
    for (auto& r : records) {
        ldns_rr* rr = nullptr;
        INFO(r);
        REQUIRE(ldns_rr_new_frm_str(&rr, r.c_str(), 300, nullptr, nullptr) == LDNS_STATUS_OK);
        REQUIRE(ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr));
    }
    std::uint8_t* wire = nullptr;
    size_t size = 0;
    REQUIRE(ldns_pkt2wire(&wire, p, &size) == LDNS_STATUS_OK);
    std::vector<std::uint8_t> bytes(wire, wire + size);
    free(wire);
    return from_wire(bytes);
}

std::vector<std::string> hosts(const Answer<Mx>& a) {
    std::vector<std::string> v;
    for (auto& m : a.records) v.push_back(std::to_string(m.preference) + " " + m.host);
    return v;
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("dns_answer: MX records sorted by preference, lower case, no trailing dot") {
    auto p = answer("Example.ORG", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR,
                    {"example.org. IN MX 20 MX2.Example.org.", "example.org. IN MX 10 b.example.org.",
                     "EXAMPLE.org. IN MX 10 a.example.org.", "example.org. IN MX 5 z.example.org."});
    auto a = read_mx(p.get(), "example.org");
    CHECK(a.found == Found::yes);
    CHECK_FALSE(a.ad);
    CHECK(a.follow.empty());
    CHECK(hosts(a) == V{"5 z.example.org", "10 b.example.org", "10 a.example.org", "20 mx2.example.org"});
}

TEST_CASE("dns_answer: the null MX stands alone") {
    auto a = read_mx(answer("null.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, {"null.test. IN MX 0 ."}).get(), "null.test");
    CHECK(a.found == Found::yes);
    CHECK(hosts(a) == V{"0 "});
    auto two = answer("null.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, {"null.test. IN MX 0 .", "null.test. IN MX 10 ."});
    CHECK(hosts(read_mx(two.get(), "null.test")) == V{"0 "});
    auto mixed = answer("mixed.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR,
                        {"mixed.test. IN MX 0 .", "mixed.test. IN MX 10 mx.mixed.test."});
    CHECK(hosts(read_mx(mixed.get(), "mixed.test")) == V{"10 mx.mixed.test"});
}

TEST_CASE("dns_answer: an MX target that is no host name is left out; none left: failed") {
    auto p = answer("weird.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR,
                    {"weird.test. IN MX 10 bad_name.weird.test.", "weird.test. IN MX 20 mx.weird.test.",
                     "weird.test. IN MX 30 a\\032b.weird.test.", "weird.test. IN MX 40 dot\\.in.label.test."});
    auto a = read_mx(p.get(), "weird.test");
    CHECK(a.found == Found::yes);
    CHECK(hosts(a) == V{"20 mx.weird.test"});
    auto bad = answer("weird.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR,
                      {"weird.test. IN MX 10 bad_name.weird.test.", "weird.test. IN MX 20 -x.weird.test."});
    auto b = read_mx(bad.get(), "weird.test");
    CHECK(b.found == Found::failed);
    CHECK(b.records.empty());
    CHECK(b.error == "MX lookup of weird.test: malformed MX record");
}

TEST_CASE("dns_answer: an MX record without rdata (as the wire allows) is malformed, not a crash") {
    // id 1, QR RD RA, 1 question, 1 answer: example.org. MX, then MX with RDLENGTH 0.
    std::vector<std::uint8_t> wire = {0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
                                      7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0, 15, 0, 1,
                                      0xc0, 12, 0, 15, 0, 1, 0, 0, 1, 0x2c, 0, 0};
    auto p = from_wire(wire);
    auto a = read_mx(p.get(), "example.org");
    CHECK(a.found == Found::failed);
    CHECK(a.records.empty());
}

TEST_CASE("dns_answer: CNAME chains inside the answer are followed") {
    auto p = answer("a1.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR,
                    {"a1.test. IN CNAME A2.test.", "a2.test. IN CNAME a3.test.", "a3.test. IN MX 10 mx.a3.test.",
                     "a1.test. IN MX 99 not-at-the-end.test."});
    auto a = read_mx(p.get(), "a1.test");
    CHECK(a.found == Found::yes);
    CHECK(hosts(a) == V{"10 mx.a3.test"});

    auto only = answer("alias.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"alias.test. IN CNAME Real.Test."});
    auto b = read_addresses(only.get(), "alias.test", false);
    CHECK(b.found == Found::no_data);
    CHECK(b.follow == "real.test");

    auto tlsa = answer("_25._tcp.mx.hosted.test", LDNS_RR_TYPE_TLSA, LDNS_RCODE_NOERROR,
                       {"_25._tcp.mx.hosted.test. IN CNAME _dane.provider.test.",
                        "_dane.provider.test. IN TLSA 3 1 1 2BB9C2CD9F2BD2E3D1A8AB7F4C4B7C1B1E8D1C2B3A4F5E6D7C8B9A0F1E2D3C4B"},
                       true);
    auto t = read_tlsa(tlsa.get(), "_25._tcp.mx.hosted.test");
    CHECK(t.found == Found::yes);
    CHECK(t.ad);
    REQUIRE(t.records.size() == 1);
    CHECK(t.records[0].data == "2bb9c2cd9f2bd2e3d1a8ab7f4c4b7c1b1e8d1c2b3a4f5e6d7c8b9a0f1e2d3c4b");
}

TEST_CASE("dns_answer: a CNAME loop ends; a CNAME to a name that is no domain name fails") {
    auto loop = answer("a.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, {"a.test. IN CNAME b.test.", "b.test. IN CNAME a.test."});
    auto a = read_mx(loop.get(), "a.test");
    CHECK(a.found == Found::no_data);
    CHECK(a.records.empty());
    auto bad = answer("a.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, {"a.test. IN CNAME b\\032c.test."});
    auto b = read_mx(bad.get(), "a.test");
    CHECK(b.found == Found::failed);
    CHECK(b.follow.empty());
    auto root = answer("a.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, {"a.test. IN CNAME .", ". IN MX 10 mx.test."});
    CHECK(read_mx(root.get(), "a.test").found == Found::failed);
}

TEST_CASE("dns_answer: A and AAAA as text, only the asked name, type and class") {
    auto p = answer("mx1.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                    {"mx1.test. IN A 203.0.113.1", "other.test. IN A 203.0.113.9", "mx1.test. IN AAAA 2001:db8::1",
                     "mx1.test. CH A 203.0.113.8", "mx1.test. IN A 203.0.113.2"});
    auto a = read_addresses(p.get(), "mx1.test", false);
    CHECK(a.found == Found::yes);
    CHECK(a.records == V{"203.0.113.1", "203.0.113.2"});
    auto six = answer("mx1.test", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, {"mx1.test. IN AAAA 2001:DB8:0:0::1"});
    CHECK(read_addresses(six.get(), "mx1.test", true).records == V{"2001:db8::1"});
    auto none = answer("mx1.test", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, {"mx1.test. IN A 203.0.113.1"});
    auto n = read_addresses(none.get(), "mx1.test", true);
    CHECK(n.found == Found::no_data);
    CHECK(n.follow.empty());
}

TEST_CASE("dns_answer: TLSA fields and the AD bit") {
    auto p = answer("_25._tcp.mx.test", LDNS_RR_TYPE_TLSA, LDNS_RCODE_NOERROR,
                    {"_25._tcp.mx.test. IN TLSA 3 1 1 00ff10", "_25._tcp.mx.test. IN TLSA 2 0 2 abcdef"}, true);
    auto a = read_tlsa(p.get(), "_25._tcp.mx.test");
    CHECK(a.found == Found::yes);
    CHECK(a.ad);
    REQUIRE(a.records.size() == 2);
    CHECK((a.records[0].usage == 3 && a.records[0].selector == 1 && a.records[0].mtype == 1));
    CHECK(a.records[0].data == "00ff10");
    CHECK((a.records[1].usage == 2 && a.records[1].selector == 0 && a.records[1].mtype == 2));
    auto insecure = answer("_25._tcp.mx.test", LDNS_RR_TYPE_TLSA, LDNS_RCODE_NOERROR, {"_25._tcp.mx.test. IN TLSA 3 1 1 00"});
    CHECK_FALSE(read_tlsa(insecure.get(), "_25._tcp.mx.test").ad);
}

TEST_CASE("dns_answer: the rcode decides: NXDOMAIN permanent, other errors temporary") {
    auto nx = read_mx(answer("nx.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NXDOMAIN, {}, true).get(), "nx.test");
    CHECK(nx.found == Found::no_domain);
    CHECK(nx.error == "nx.test does not exist");
    CHECK(nx.ad);
    auto sf = read_mx(answer("sf.test", LDNS_RR_TYPE_MX, LDNS_RCODE_SERVFAIL, {"sf.test. IN MX 10 mx.test."}).get(), "sf.test");
    CHECK(sf.found == Found::failed);
    CHECK(sf.records.empty());
    CHECK(sf.error == "MX lookup of sf.test: SERVFAIL");
    auto rf = read_addresses(answer("rf.test", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, {}).get(), "rf.test", false);
    CHECK(rf.found == Found::failed);
    CHECK(rf.error == "A lookup of rf.test: REFUSED");
    auto nodata = read_mx(answer("nomx.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, {}).get(), "nomx.test");
    CHECK(nodata.found == Found::no_data);
    CHECK(nodata.error.empty());
}

TEST_CASE("dns_answer: an answer to another question is a failure") {
    auto other_name = answer("b.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, {"a.test. IN MX 10 mx.test."});
    auto other_type = answer("a.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"a.test. IN MX 10 mx.test."});
    auto no_question = answer("", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, {"a.test. IN MX 10 mx.test."});
    for (auto* p : {other_name.get(), other_type.get(), no_question.get()}) {
        auto a = read_mx(p, "a.test");
        CHECK(a.found == Found::failed);
        CHECK(a.error == "MX lookup of a.test: the name server answered another question");
    }
    auto nx = answer("b.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NXDOMAIN, {});
    CHECK(read_mx(nx.get(), "a.test").found == Found::failed);
    CHECK(read_mx(nullptr, "a.test").found == Found::failed);
}

TEST_CASE("dns_answer: askable names") {
    CHECK(askable_name("example.org"));
    CHECK(askable_name("_25._tcp.mx.example.org"));
    CHECK(askable_name(std::string(63, 'a') + ".test"));
    CHECK_FALSE(askable_name(std::string(64, 'a') + ".test"));
    CHECK_FALSE(askable_name(""));
    CHECK_FALSE(askable_name("a..b"));
    CHECK_FALSE(askable_name(".a"));
    CHECK_FALSE(askable_name("a."));
    CHECK_FALSE(askable_name("a\\032b"));
    CHECK_FALSE(askable_name("a b"));
    std::string long_name;
    for (int i = 0; i < 64; ++i) long_name += "abc.";
    long_name += "d";
    CHECK_FALSE(askable_name(long_name));
}
