#include "route_lookup.hpp"
#include "routes_table.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace mta;

namespace {

const RouteRule* match(const RoutesTable& t, std::string_view domain, std::optional<std::string> sender = {}) {
    std::optional<Address> s;
    if (sender) s = sender->empty() ? Address::null() : Address::parse(*sender, {});
    return t.match(Domain::parse(domain), s);
}

std::string config_error(std::string_view text) {
    try {
        RoutesTable::parse(text, "routes");
    } catch (const Error& e) {
        CHECK(e.exit_code() == ex::config);
        return e.status().text;
    }
    return "";
}

}  // namespace

TEST_CASE("next hops: host, [host], port, address literals, -", "[route]") {
    auto h = parse_next_hop("Smart.Example.com");
    CHECK(h.kind == NextHop::Kind::mx);
    CHECK(h.host == "smart.example.com");
    CHECK(h.port == 25);
    h = parse_next_hop("[smart.example.com]:587");
    CHECK(h.kind == NextHop::Kind::direct);
    CHECK(h.host == "smart.example.com");
    CHECK(h.port == 587);
    h = parse_next_hop("relay.example:2525");
    CHECK(h.kind == NextHop::Kind::mx);
    CHECK(h.port == 2525);
    CHECK(parse_next_hop("[192.0.2.1]").host == "192.0.2.1");
    CHECK(parse_next_hop("[2001:DB8:0::1]:26").host == "2001:db8::1");
    CHECK(parse_next_hop("[IPv6:2001:db8::1]").host == "2001:db8::1");
    CHECK(parse_next_hop("-").host.empty());
    for (auto bad : {"", "[x.example", "[x.example]587", "x.example:0", "x.example:65536", "x.example:port",
                     "2001:db8::1", "bad_host!", "[IPv6:192.0.2.1]", "[192.0.2.1]:"})
        CHECK_THROWS_AS(parse_next_hop(bad), Error);
}

TEST_CASE("routes file: rules, options, comments", "[route]") {
    auto t = RoutesTable::parse(
        "# the routes\n"
        "\n"
        "Example.COM   [smart.example.net]:587,[backup.example.net]  tls=encrypt auth=smart  # two relays\n"
        ".example.org  relay.example.org\n"
        "local.test    local\n"
        "bad.test      error:5.7.1 we do not send there\n"
        "later.test    error:4.3.2   try later  \n"
        "dns.test      -   tls=dane\n"
        "from:Alice@Sender.test  [s.example]:465 tls=verify auth=alice\n"
        "from:@bulk.test         [bulk.example]\n"
        "from:<>                 [bounces.example]\n"
        "*             [default.example]\n");
    CHECK(t.size() == 10);
    auto r = match(t, "example.com");
    REQUIRE(r);
    CHECK(r->action == RouteRule::Action::forward);
    REQUIRE(r->hops.size() == 2);
    CHECK(r->hops[0].host == "smart.example.net");
    CHECK(r->hops[0].port == 587);
    CHECK(r->hops[1].host == "backup.example.net");
    CHECK(r->hops[1].port == 25);
    CHECK(r->tls == "encrypt");
    CHECK(r->auth == "smart");
    CHECK(r->line == 3);
    CHECK(match(t, "local.test")->action == RouteRule::Action::local);
    r = match(t, "bad.test");
    CHECK(r->action == RouteRule::Action::error);
    CHECK(r->error.outcome == Outcome::permanent);
    CHECK(r->error.enhanced == "5.7.1");
    CHECK(r->error.text == "we do not send there");
    r = match(t, "later.test");
    CHECK(r->error.outcome == Outcome::temporary);
    CHECK(r->error.code == 450);
    CHECK(r->error.text == "try later");
    CHECK(match(t, "dns.test")->hops[0].host.empty());
}

TEST_CASE("routes file: lookup order", "[route]") {
    auto t = RoutesTable::parse(
        "example.org     [exact]\n"
        ".example.org    [sub]\n"
        ".a.example.org  [deeper]\n"
        "from:alice@s.test [alice]\n"
        "from:@s.test    [sdomain]\n"
        "from:<>         [null]\n"
        "*               [default]\n");
    auto host = [&](std::string_view d, std::optional<std::string> s = {}) { return match(t, d, s)->hops[0].host; };
    CHECK(host("example.org") == "exact");
    CHECK(host("EXAMPLE.org") == "exact");
    CHECK(host("x.example.org") == "sub");
    CHECK(host("x.a.example.org") == "deeper");  // the longest .domain wins
    CHECK(host("a.example.org") == "sub");        // .a.example.org is for its subdomains only
    CHECK(host("other.test") == "default");
    CHECK(host("other.test", "alice@s.test") == "alice");
    CHECK(host("other.test", "Alice@S.Test") == "alice");
    CHECK(host("other.test", "bob@s.test") == "sdomain");
    CHECK(host("other.test", "bob@sub.s.test") == "default");
    CHECK(host("other.test", "") == "null");
    CHECK(host("example.org", "alice@s.test") == "exact");  // recipient rules first
    CHECK(host("[192.0.2.1]") == "default");

    CHECK(t.has_sender_rules());
    CHECK(t.match_recipient(Domain::parse("x.a.example.org"))->hops[0].host == "deeper");
    CHECK(t.match_recipient(Domain::parse("other.test")) == nullptr);

    auto none = RoutesTable::parse("example.org [x]\n");
    CHECK_FALSE(none.has_sender_rules());
    CHECK(match(none, "example.net") == nullptr);
    CHECK(match(none, "x.example.org") == nullptr);
    CHECK(RoutesTable::parse("").empty());
    CHECK(RoutesTable::load("/nonexistent/routes").empty());
}

TEST_CASE("routes file: errors name the line", "[route]") {
    CHECK(config_error("a.test [x]\nb.test\n") == "routes:2: a rule needs a pattern and a next hop");
    CHECK(config_error("a.test [x] tls=sometimes\n").find("routes:1: unknown option tls=sometimes") == 0);
    CHECK(config_error("a.test [x] colour=blue\n").find("routes:1: unknown option") == 0);
    CHECK(config_error("a.test [x]\n\nA.test [y]\n") == "routes:3: a.test already has a rule on line 1");
    CHECK(config_error("bad_domain! [x]\n").find("routes:1: bad domain pattern") == 0);
    CHECK(config_error("from:not an address [x]\n").find("routes:1:") == 0);
    CHECK(config_error("a.test error:2.0.0 fine\n").find("routes:1: error: needs") == 0);
    CHECK(config_error("a.test error:nope\n").find("routes:1: error: needs") == 0);
    CHECK(config_error("a.test local tls=none\n") == "routes:1: a local rule takes no options");
    CHECK(config_error("a.test [x],\n").find("routes:1: empty next hop") == 0);
    CHECK(config_error("a.test x.test:99999\n").find("routes:1: bad port") == 0);
}

TEST_CASE("MX records sorted by preference, equal preferences shuffled", "[route]") {
    std::mt19937 rng(42);
    std::vector<dns::Mx> mx = {{20, "c"}, {10, "a"}, {30, "d"}, {10, "b"}, {5, "z"}};
    std::set<std::string> firsts;
    for (int i = 0; i < 64; ++i) {
        auto o = order_mx(mx, rng);
        REQUIRE(o.size() == 5);
        CHECK(o[0].host == "z");
        CHECK(o[1].preference == 10);
        CHECK(o[2].preference == 10);
        CHECK(o[3].host == "c");
        CHECK(o[4].host == "d");
        firsts.insert(o[1].host);
    }
    CHECK(firsts == std::set<std::string>{"a", "b"});
    CHECK(order_mx({}, rng).empty());
}

TEST_CASE("null MX (RFC 7505)", "[route]") {
    CHECK(is_null_mx({{0, ""}}));
    CHECK_FALSE(is_null_mx({}));
    CHECK_FALSE(is_null_mx({{0, "mx.example"}}));
    CHECK_FALSE(is_null_mx({{0, ""}, {10, "mx.example"}}));  // not the lone record: the real MX is used
}

TEST_CASE("an MX list naming this host keeps only the better hosts", "[route]") {
    std::vector<RouteHost> hosts = {{"a", 25, 10, {"192.0.2.1"}},
                                    {"me", 25, 20, {"198.51.100.1"}},
                                    {"b", 25, 20, {"192.0.2.2"}},
                                    {"c", 25, 30, {"192.0.2.3"}}};
    auto self = [](const RouteHost& h) { return h.name == "me"; };
    auto kept = drop_self_and_worse(hosts, self);
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].name == "a");
    hosts[0].name = "me";
    CHECK(drop_self_and_worse(hosts, self).empty());  // we are the best: mail would loop
    hosts[0].name = "a";
    hosts[1].name = "x";
    CHECK(drop_self_and_worse(hosts, self).size() == 4);  // not listed: nothing dropped
}

TEST_CASE("usable TLSA records for SMTP (RFC 7672)", "[route]") {
    std::string sha256(64, 'a'), sha512(128, 'b');
    auto u = usable_tlsa({{3, 1, 1, sha256},
                          {2, 0, 2, sha512},
                          {3, 0, 0, "3082"},
                          {1, 1, 1, sha256},   // PKIX-EE: not for SMTP
                          {0, 0, 1, sha256},   // PKIX-TA: not for SMTP
                          {3, 2, 1, sha256},   // unknown selector
                          {3, 1, 3, sha256},   // unknown matching type
                          {3, 1, 1, "abcd"},   // wrong digest length
                          {3, 1, 2, sha256}});
    REQUIRE(u.size() == 3);
    CHECK(u[0].usage == 3);
    CHECK(u[1].usage == 2);
    CHECK(u[2].mtype == 0);
}

TEST_CASE("input: a domain or an address", "[route]") {
    CHECK(input_domain("Example.ORG").str() == "example.org");
    CHECK(input_domain("example.org.").str() == "example.org");
    CHECK(input_domain("User@Example.org").str() == "example.org");
    CHECK(input_domain("<user@example.org>").str() == "example.org");
    CHECK(input_domain("user@[192.0.2.1]").str() == "[192.0.2.1]");
    CHECK_THROWS_AS(input_domain("not a domain"), Error);
    CHECK_THROWS_AS(input_domain("user@"), Error);
    CHECK_THROWS_AS(input_domain(""), Error);
}

TEST_CASE("route lines of every kind round-trip", "[route]") {
    Route r;
    r.domain = "example.org";
    r.kind = RouteKind::mx;
    r.tls = "dane";
    r.hosts = {{"mx1.example.org", 25, 10, {"2001:db8::1", "192.0.2.1"}}, {"mx2.example.org", 25, 20, {"192.0.2.2"}}};
    r.tlsa = {{3, 1, 1, std::string(64, 'c')}};
    auto p = parse_route(r.str());
    CHECK(p.str() == r.str());
    CHECK(p.tlsa.size() == 1);
    CHECK(p.hosts[0].addresses.size() == 2);
    r = Route();
    r.domain = "nx.example";
    r.error = Status::permanent(556, "5.1.10", "domain nx.example does not accept mail (null MX)");
    CHECK(parse_route(r.str()).error.enhanced == "5.1.10");
    CHECK(parse_route(r.str()).error.text == r.error.text);
}

TEST_CASE("resolver addresses: ADDR, ADDR:PORT, [ADDR]:PORT", "[route]") {
    using P = std::pair<std::string, std::uint16_t>;
    CHECK(dns::parse_server("127.0.0.1") == P{"127.0.0.1", 53});
    CHECK(dns::parse_server("127.0.0.1:5353") == P{"127.0.0.1", 5353});
    CHECK(dns::parse_server("::1") == P{"::1", 53});
    CHECK(dns::parse_server("[::1]:5353") == P{"::1", 5353});
    CHECK(dns::parse_server("[2001:db8::53]") == P{"2001:db8::53", 53});
    for (auto bad : {"", "localhost", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "[::1]5353", "[::1]:x",
                     "1.2.3"})
        CHECK_THROWS_AS(dns::parse_server(bad), Error);
}

TEST_CASE("the route lines mta-route prints are read back by parse_route", "[route]") {
    for (auto line : {
             "domain=lit.test kind=relay tls=may host=[IPv6:2001:db8::25]/25/0/2001:db8::25 host=[192.0.2.25]/26/1/192.0.2.25",
             "domain=[192.0.2.77] kind=mx tls=may host=[192.0.2.77]/25/0/192.0.2.77",
             "domain=relay.test kind=relay tls=encrypt auth=smart host=smart.relay.test/587/0/192.0.2.30",
             "domain=invalid kind=error result=permanent code=501 enhanced=5.1.2 text=not a domain!: bad domain",
             "domain=null.test kind=error result=permanent code=556 enhanced=5.1.10 text=domain null.test does not accept mail (null MX)",
             "domain=here.test kind=local",
             "domain=o.test kind=local sender=ask",
             "domain=o.test kind=relay sender=ask tls=none host=[192.0.2.99]/2525/0/192.0.2.99",
             "domain=o.test kind=error sender=ask result=permanent code=550 enhanced=5.7.1 text=no relay for you",
             "domain=m.test kind=mx tls=may host=a.m.test/25/10/192.0.2.1 host=b.m.test/25/20/192.0.2.2 hosttls=a.m.test/dane "
             "hosttlsa=a.m.test/3/1/1/abcd hosttlsa=a.m.test/2/0/1/ef01 hosttls=b.m.test/encrypt",
         }) {
        INFO(line);
        CHECK(parse_route(line).str() == line);
    }
}

TEST_CASE("sender=ask is the only value of sender=", "[route]") {
    CHECK(parse_route("domain=o.test kind=local sender=ask").ask_sender);
    CHECK_FALSE(parse_route("domain=o.test kind=local").ask_sender);
    CHECK_THROWS_AS(parse_route("domain=o.test kind=local sender=maybe"), Error);
}

TEST_CASE("per-host TLS policies in route lines", "[route]") {
    auto r = parse_route("domain=m.test kind=mx tls=may host=a.m.test/25/10/192.0.2.1 hosttlsa=a.m.test/3/1/1/abcd "
                         "hosttls=[192.0.2.9]/encrypt hosttls=a.m.test/dane");
    REQUIRE(r.host_tls.size() == 2);
    CHECK(r.host_tls[0].host == "a.m.test");
    CHECK(r.host_tls[0].tls == "dane");
    REQUIRE(r.host_tls[0].tlsa.size() == 1);
    CHECK(r.host_tls[0].tlsa[0].data == "abcd");
    CHECK(r.host_tls[1].host == "[192.0.2.9]");
    CHECK(r.host_tls[1].tls == "encrypt");
    CHECK(r.tls == "may");
    CHECK(r.tlsa.empty());
    CHECK(parse_route(r.str()).str() == r.str());
    CHECK(r.json().find(R"("host_tls":[{"host":"a.m.test","tls":"dane","tlsa":[{"usage":3)") != std::string::npos);
    for (auto bad : {"hosttls=a.m.test", "hosttls=a.m.test/sometimes", "hosttls=bad_host!/dane",
                     "hosttlsa=a.m.test/3/1/1", "hosttlsa=a.m.test/3/1/1/xyz", "hosttlsa=/3/1/1/ab"})
        CHECK_THROWS_AS(parse_route(std::string("domain=m.test kind=mx host=a.m.test/25/0/192.0.2.1 ") + bad), Error);
}
