#include "address.hpp"
#include "ascii.hpp"
#include "cli/command.hpp"
#include "config.hpp"
#include "local_recipient.hpp"
#include "route.hpp"
#include "status.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <unistd.h>

using namespace mta;

TEST_CASE("RFC 5321 paths parse into canonical addresses", "[address]") {
    Address::Options rcpt{};
    auto a = Address::parse_path("<Bob@Example.ORG>", rcpt);
    CHECK(a.local() == "Bob");  // local parts keep their case
    CHECK(a.domain().str() == "example.org");
    CHECK(a.str() == "Bob@example.org");
    CHECK(a.path() == "<Bob@example.org>");

    // quoted local parts: unquoted when they can be, kept quoted otherwise
    CHECK(Address::parse_path("<\"bob\"@example.org>", rcpt).str() == "bob@example.org");
    auto q = Address::parse_path("<\"john smith\"@example.org>", rcpt);
    CHECK(q.local() == "john smith");
    CHECK(q.str() == "\"john smith\"@example.org");
    auto qa = Address::parse_path("<\"a@b\"@example.org>", rcpt);  // quoted @ is a character
    CHECK(qa.domain().str() == "example.org");
    CHECK(qa.local() == "a@b");
    CHECK(Address::parse_path("<\"a\\\"b\"@x.org>", rcpt).local() == "a\"b");

    // % and ! are characters, never routing
    auto pct = Address::parse_path("<user%other.example@example.org>", rcpt);
    CHECK(pct.domain().str() == "example.org");
    CHECK(pct.local() == "user%other.example");
    CHECK(Address::parse_path("<host!user@example.org>", rcpt).domain().str() == "example.org");

    // source routes are accepted and dropped
    auto sr = Address::parse_path("<@relay.example,@b.example:user@example.org>", rcpt);
    CHECK(sr.str() == "user@example.org");

    // address literals
    CHECK(Address::parse_path("<u@[192.0.2.1]>", rcpt).domain().is_literal());
    CHECK(Address::parse_path("<u@[IPv6:2001:db8::1]>", rcpt).domain().str() == "[IPv6:2001:db8::1]");
    CHECK_THROWS_AS(Address::parse_path("<u@[300.1.1.1]>", rcpt), Error);
    CHECK_THROWS_AS(Address::parse_path("<u@[IPv6:zz]>", rcpt), Error);

    // null and bare postmaster only where allowed
    CHECK_THROWS_AS(Address::parse_path("<>", rcpt), Error);
    CHECK(Address::parse_path("<>", {.allow_null = true}).is_null());
    CHECK_THROWS_AS(Address::parse_path("<Postmaster>", rcpt), Error);
    auto pm = Address::parse_path("<Postmaster>", {.allow_bare_local = true});
    CHECK(pm.is_postmaster());
    CHECK(pm.domain().empty());

    // malformed
    for (const char* bad : {"bob@example.org", "<bob@example.org", "<bob@@example.org>", "<.bob@x.org>",
                            "<bo..b@x.org>", "<bob@-x.org>", "<bob@x..org>", "<bob@x.org.>", "<bob @x.org>",
                            "<\"unterminated@x.org>", "<@relay:>", "<b\x01@x.org>"})
        CHECK_THROWS_AS(Address::parse_path(bad, rcpt), Error);
    CHECK_THROWS_AS(Address::parse_path("<" + std::string(65, 'a') + "@x.org>", rcpt), Error);
    CHECK_THROWS_AS(Address::parse_path("<a@" + std::string(250, 'a') + ".org>", rcpt), Error);
    try {
        Address::parse_path("<bo..b@x.org>", rcpt);
    } catch (const Error& e) {
        CHECK(e.status().code == 501);
        CHECK(e.status().enhanced == "5.1.3");
    }

    // UTF-8 only with SMTPUTF8
    CHECK_THROWS_AS(Address::parse_path("<jösé@example.org>", rcpt), Error);
    auto u = Address::parse_path("<jösé@exämple.org>", {.utf8 = true});
    CHECK(u.is_utf8());

    // angle brackets optional on command lines
    CHECK(Address::parse("alice@example.org", {}).str() == "alice@example.org");
    CHECK(Address::parse("root", {.allow_bare_local = true}).str() == "root");
}

TEST_CASE("ASCII case folds the letters A-Z and nothing else", "[ascii]") {
    CHECK(ascii::lower("Postmaster@EXAMPLE.org") == "postmaster@example.org");
    CHECK(ascii::upper("mail from:") == "MAIL FROM:");
    // UTF-8 octets and Latin-1 ones stay as they are, whatever the locale.
    CHECK(ascii::lower("\xC3\x89T\xC9") == "\xC3\x89t\xC9");
    CHECK(ascii::upper("\xC3\xa9t\xe9") == "\xC3\xa9T\xe9");
    CHECK(ascii::lower("@[]^_`{}") == "@[]^_`{}");  // around the letters
    CHECK(ascii::iequal("Received:", "rECEIVED:"));
    CHECK_FALSE(ascii::iequal("Received:", "Received"));
    CHECK_FALSE(ascii::iequal("@", "`"));  // 0x40 and 0x60 differ by the case bit, but are not letters
    CHECK_FALSE(ascii::iequal("\xC9", "\xE9"));
    CHECK(ascii::istarts_with("IPv6:::1", "ipv6:"));
    CHECK_FALSE(ascii::istarts_with("IPv", "ipv6:"));
    CHECK(ascii::istarts_with("anything", ""));
}

TEST_CASE("domains compare by suffix on label boundaries", "[address]") {
    auto d = Domain::parse("mail.Example.org");
    CHECK(d.within(Domain::parse("example.org")));
    CHECK(d.within(Domain::parse("mail.example.org")));
    CHECK_FALSE(Domain::parse("badexample.org").within(Domain::parse("example.org")));
}

TEST_CASE("route lines round-trip", "[route]") {
    Route r;
    r.domain = "example.org";
    r.kind = RouteKind::mx;
    r.tls = "dane";
    r.hosts.push_back({"mx1.example.org", 25, 10, {"2001:db8::1", "192.0.2.1"}});
    r.hosts.push_back({"mx2.example.org", 25, 20, {}});
    r.tlsa.push_back({3, 1, 1, "abcdef"});
    auto p = parse_route(r.str());
    CHECK(p.str() == r.str());
    CHECK(p.hosts[0].addresses.size() == 2);
    CHECK(p.tlsa[0].data == "abcdef");
    CHECK(r.json().find("\"preference\":20") != std::string::npos);

    Route e;
    e.domain = "nx.example";
    e.kind = RouteKind::error;
    e.error = Status::permanent(550, "5.1.2", "domain nx.example does not exist");
    auto pe = parse_route(e.str());
    CHECK(pe.error.text == "domain nx.example does not exist");
    CHECK(pe.error.outcome == Outcome::permanent);
    CHECK(parse_route("domain=localhost kind=local").kind == RouteKind::local);
    CHECK_THROWS_AS(parse_route("domain=x kind=mx"), Error);  // no hosts
    CHECK_THROWS_AS(parse_route("domain=x kind=mx tls=sometimes host=a/25/0/"), Error);
    CHECK_THROWS_AS(parse_route("domain=x kind=relay host=a/99999/0/"), Error);
    CHECK_THROWS_AS(parse_route("kind=local"), Error);
    CHECK_THROWS_AS(parse_route("domain=x kind=error code=550"), Error);  // no result
    CHECK_THROWS_AS(parse_route("domain=x kind=mx host=a/25/0/not-an-ip"), Error);
    CHECK_THROWS_AS(parse_route("domain=x kind=mx host=a/25/0/ tlsa=3/1/1/xyz"), Error);
    CHECK_THROWS_AS(parse_route("domain=-bad kind=local"), Error);
    // found by fuzz/route_line: a line break inside a token must not survive
    static const char crash[] = "domain=exa\xa1ple.org kind=mx tls=dane host=\x89ple.orgaut\x01\0\0\nh=3/1/1/abce";
    CHECK_THROWS_AS(parse_route(std::string(crash, sizeof crash - 1)), Error);
    CHECK_THROWS_AS(parse_route("domain=x.org kind=mx host=mx.x.org/25/0/\nhost=y/25/0/"), Error);
}

TEST_CASE("config: shared keys, the tool's section, command line wins", "[config]") {
    char dir[] = "/tmp/mta-config-test.XXXXXX";
    REQUIRE(mkdtemp(dir));
    std::string conf = std::string(dir) + "/mta.conf";
    std::ofstream(conf) << "spool = /var/spool/shared\nhostname = mx.example.org\n"
                           "[mta-recv]\nspool = /var/spool/recv\n[mta-queue]\nhostname = other\n";
    auto parse = [&](std::vector<std::string> args) {
        cli::Command app("test", "mta-recv");
        config::Common c;
        config::attach(app, "mta-recv", c);
        std::vector<const char*> argv{"mta-recv"};
        for (auto& a : args) argv.push_back(a.c_str());
        app.parse(int(argv.size()), const_cast<char**>(argv.data()));
        config::finish(c);
        return c;
    };
    auto c = parse({"--config", conf});
    CHECK(c.spool == "/var/spool/recv");   // section overrides shared
    CHECK(c.hostname == "mx.example.org"); // other tools' sections ignored
    CHECK(c.log == "syslog");
    CHECK(parse({"--config", conf, "--spool", "/x"}).spool == "/x");
    CHECK_THROWS_AS(parse({"--config", conf, "--log", "nowhere"}), Error);

    // embedded defaults under MTA_ROOT
    setenv("MTA_ROOT", dir, 1);
    auto d = parse({});
    CHECK(d.spool == std::string(dir) + "/spool");
    CHECK(d.etc == std::string(dir) + "/etc");
    CHECK(config::default_config_file() == std::string(dir) + "/etc/mta.conf");
    unsetenv("MTA_ROOT");

    // tables
    std::ofstream(std::string(dir) + "/aliases") << "# comment\nPostmaster: root\nlist: a,\n  b\n\"odd name\": c\n";
    std::ofstream(std::string(dir) + "/virtual") << "alice@example.org  /srv/mail/alice/\n@catchall.example /srv/x/\n";
    local_recipient::Tables t{std::string(dir) + "/aliases", std::string(dir) + "/virtual", "+", false};
    auto A = [](const char* s) { return Address::parse(s, {}); };
    CHECK(local_recipient::exists(t, A("list@example.org")));
    CHECK(local_recipient::exists(t, A("LIST+tag@example.org")));
    CHECK(local_recipient::exists(t, A("\"odd name\"@example.org")));
    CHECK(local_recipient::exists(t, A("alice@example.org")));
    CHECK(local_recipient::exists(t, A("alice+x@example.org")));
    CHECK(local_recipient::exists(t, A("anyone@catchall.example")));
    CHECK(local_recipient::exists(t, A("postmaster@example.org")));
    CHECK_FALSE(local_recipient::exists(t, A("b@example.org")));  // continuation, not a name
    CHECK_FALSE(local_recipient::exists(t, A("alice@example.net")));
    CHECK_FALSE(local_recipient::exists(t, A("nobody-here@example.org")));
    CHECK(config::read_lines(std::string(dir) + "/virtual").size() == 2);
    CHECK(config::read_lines(std::string(dir) + "/missing").empty());

    // What was read is kept between calls while the files stay the same,
    // and read again when one changes: rewritten in place to the same
    // size (after a pause longer than the clock tick of file times),
    // replaced by a file renamed over it, removed.
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::ofstream(std::string(dir) + "/virtual") << "alicia@example.org /srv/mail/alice/\n@catchall.example /srv/x/\n";
    CHECK(local_recipient::exists(t, A("alicia@example.org")));
    CHECK_FALSE(local_recipient::exists(t, A("alice@example.org")));
    std::ofstream(std::string(dir) + "/virtual.new") << "carol@example.org /srv/mail/carol/\n";
    REQUIRE(std::rename((std::string(dir) + "/virtual.new").c_str(), (std::string(dir) + "/virtual").c_str()) == 0);
    CHECK(local_recipient::exists(t, A("carol@example.org")));
    CHECK_FALSE(local_recipient::exists(t, A("alicia@example.org")));
    CHECK(local_recipient::exists(t, A("list@example.org")));
    REQUIRE(::unlink((std::string(dir) + "/aliases").c_str()) == 0);
    CHECK_FALSE(local_recipient::exists(t, A("list@example.org")));

    config::Common lc;
    lc.hostname = "mx.example.org";
    lc.local_domains = std::string(dir) + "/local-domains";
    std::ofstream(lc.local_domains) << "Example.ORG\n";
    CHECK(config::local_domains(lc) == std::vector<std::string>{"example.org"});
    CHECK(config::local_domains(lc) == std::vector<std::string>{"example.org"});
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::ofstream(lc.local_domains) << "example.net\n";
    CHECK(config::local_domains(lc) == std::vector<std::string>{"example.net"});
    REQUIRE(::unlink(lc.local_domains.c_str()) == 0);
    CHECK(config::local_domains(lc) == std::vector<std::string>{"mx.example.org", "localhost"});
    [[maybe_unused]] int r = std::system(("rm -rf " + std::string(dir)).c_str());
}
