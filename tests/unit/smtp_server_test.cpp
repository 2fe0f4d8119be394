// Unit tests of the SMTP server's pieces: command parser, DATA/BDAT reader,
// session state machine, Received header, relay policy, PROXY headers,
// password hashes.
#include "base64.hpp"
#include "log.hpp"
#include "password_file.hpp"
#include "proxy_protocol.hpp"
#include "received_header.hpp"
#include "relay_policy.hpp"
#include "smtp_command.hpp"
#include "smtp_data_reader.hpp"
#include "smtp_session.hpp"
#include "status.hpp"

#include <catch2/catch.hpp>
#include <map>

using namespace mta;
using namespace mta::smtp;

namespace {

// Feeds all of `wire` to a DATA reader in one piece, or byte by byte.
struct ReadResult {
    std::string content;
    size_t used = 0;
    bool done = false;
    std::optional<Status> status;
};

ReadResult read_data(std::string_view wire, bool bytewise = false, DataReader::Limits l = {}) {
    DataReader r(DataReader::Mode::data, l);
    ReadResult res;
    if (bytewise) {
        for (size_t i = 0; i < wire.size() && !r.done(); ++i) res.used += r.feed(wire.substr(i, 1), res.content);
    } else {
        res.used = r.feed(wire, res.content);
    }
    res.done = r.done();
    res.status = r.status();
    return res;
}

class MemoryBackend : public Backend {
public:
    std::map<std::string, std::string> stored;  // id → content
    std::vector<Envelope> envelopes;
    std::string current;
    std::string current_id;
    int next = 1;
    bool fail_write = false, fail_commit = false;
    int aborted = 0;

    Status check_recipient(const Address& rcpt, bool may_relay) override {
        if (rcpt.domain().str() == "local.test") {
            if (rcpt.local() == "bob" || rcpt.is_postmaster()) return Status::ok();
            return Status::permanent(550, "5.1.1", "User unknown");
        }
        return may_relay ? Status::ok() : Status::permanent(554, "5.7.1", "Relay access denied");
    }
    bool authenticate(const std::string& user, const std::string& password) override {
        return user == "ann" && password == "secret";
    }
    std::string begin_message() override {
        current.clear();
        current_id = "ID" + std::to_string(next++);
        return current_id;
    }
    void write(std::string_view b) override {
        if (fail_write) throw Error::system("write", ENOSPC);
        current.append(b);
    }
    void commit(Envelope env) override {
        if (fail_commit) throw Error::system("fsync", EIO);
        stored[current_id] = current;
        envelopes.push_back(env);
    }
    void abort() override { ++aborted; }
};

struct Fixture {
    MemoryBackend backend;
    SessionConfig cfg;
    Peer peer;
    std::unique_ptr<Session> s;
    Fixture(std::function<void(SessionConfig&, Peer&)> setup = nullptr) {
        log::open("test", "file:/dev/null");
        cfg.hostname = "mx.test";
        cfg.max_recipients = 3;
        cfg.max_message_size = 1000;
        cfg.max_errors = 10;
        peer.ip = "192.0.2.7";
        peer.name = "client.example";
        if (setup) setup(cfg, peer);
        s = std::make_unique<Session>(cfg, peer, backend);
        s->start();
        s->take_output();
    }
    // Feeds `in`; returns the reply lines.
    std::vector<std::string> talk(std::string_view in) {
        s->feed(in);
        std::string out = s->take_output();
        std::vector<std::string> lines;
        size_t p = 0;
        while (p < out.size()) {
            auto e = out.find("\r\n", p);
            lines.push_back(out.substr(p, e - p));
            p = e + 2;
        }
        return lines;
    }
    std::string last(std::string_view in) {
        auto l = talk(in);
        return l.empty() ? "" : l.back();
    }
};

bool starts(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

}  // namespace

// ---------------- command parser ----------------

TEST_CASE("command verbs and arguments", "[smtp][command]") {
    auto c = parse_command("mail FROM:<a@b.example>");
    CHECK(c.verb == Verb::mail);
    CHECK(c.arg == "FROM:<a@b.example>");
    CHECK(parse_command("EHLO x.example").verb == Verb::ehlo);
    CHECK(parse_command("QUIT").arg.empty());
    CHECK(parse_command("FROB").verb == Verb::unknown);
    CHECK(parse_command("starttls").verb == Verb::starttls);
}

TEST_CASE("NUL and control characters in a command are 501", "[smtp][command]") {
    try {
        parse_command(std::string("MAIL FROM:<a@b.example>\0x", 25));
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.status().code == 501);
    }
    CHECK_THROWS_AS(parse_command("NOOP\rx"), Error);
}

TEST_CASE("MAIL FROM with ESMTP parameters", "[smtp][command]") {
    auto m = parse_mail("FROM:<alice@example.org> SIZE=1234 BODY=8bitmime RET=HDRS ENVID=QQ+2B1 SMTPUTF8", true);
    CHECK(m.sender.str() == "alice@example.org");
    CHECK(m.size == 1234u);
    CHECK(m.body == "8BITMIME");
    CHECK(m.ret == "HDRS");
    CHECK(m.envid == "QQ+1");
    CHECK(m.smtputf8);
    CHECK(parse_mail("FROM:<>", false).sender.is_null());
    CHECK(parse_mail("FROM: <a@b.example>", false).sender.str() == "a@b.example");
    CHECK(parse_mail("FROM:<@relay.example:a@b.example>", false).sender.str() == "a@b.example");
}

TEST_CASE("MAIL FROM errors", "[smtp][command]") {
    auto code = [](std::string_view arg, bool esmtp = true) {
        try {
            parse_mail(arg, esmtp);
        } catch (const Error& e) {
            return e.status().code;
        }
        return 250;
    };
    CHECK(code("FROM:a@b.example") == 501);
    CHECK(code("TO:<a@b.example>") == 501);
    CHECK(code("FROM:<a@b.example> SIZE=x") == 501);
    CHECK(code("FROM:<a@b.example> BODY=BINARYMIME") == 555);
    CHECK(code("FROM:<a@b.example> FOO=1") == 555);
    CHECK(code("FROM:<a@b.example> SIZE=1 SIZE=2") == 555);
    CHECK(code("FROM:<a@b.example> SIZE=1", false) == 555);
    CHECK(code("FROM:<a@b.example>x") == 501);
    CHECK(code("FROM:<a@b.example> ENVID=+zz") == 501);
}

TEST_CASE("RCPT TO with DSN parameters", "[smtp][command]") {
    auto r = parse_rcpt("TO:<bob@example.net> NOTIFY=success,failure ORCPT=rfc822;bob+2Bx@example.net", true, false);
    CHECK(r.recipient.str() == "bob@example.net");
    CHECK(r.notify == "SUCCESS,FAILURE");
    CHECK(r.orcpt == "rfc822;bob+x@example.net");
    CHECK(parse_rcpt("TO:<Postmaster>", false, false).bare_postmaster);
    CHECK_THROWS_AS(parse_rcpt("TO:<root>", false, false), Error);
    CHECK_THROWS_AS(parse_rcpt("TO:<a@b.example> NOTIFY=NEVER,DELAY", true, false), Error);
    CHECK_THROWS_AS(parse_rcpt("TO:<a@b.example> NOTIFY=SOMETIMES", true, false), Error);
}

TEST_CASE("relay forms are only characters of a local part", "[smtp][command]") {
    CHECK(parse_rcpt("TO:<a%c.example@b.example>", false, false).recipient.domain().str() == "b.example");
    CHECK(parse_rcpt("TO:<c.example!a@b.example>", false, false).recipient.domain().str() == "b.example");
    auto q = parse_rcpt("TO:<\"a@c.example\"@b.example>", false, false);
    CHECK(q.recipient.domain().str() == "b.example");
    CHECK(q.recipient.local() == "a@c.example");
    // A source route is dropped: the mail goes to the final address only.
    CHECK(parse_rcpt("TO:<@c.example,@d.example:a@b.example>", false, false).recipient.str() == "a@b.example");
}

TEST_CASE("BDAT arguments", "[smtp][command]") {
    CHECK(parse_bdat("100").size == 100);
    CHECK(!parse_bdat("100").last);
    CHECK(parse_bdat("0 LAST").last);
    CHECK_THROWS_AS(parse_bdat("x"), Error);
    CHECK_THROWS_AS(parse_bdat("10 FIRST"), Error);
    CHECK_THROWS_AS(parse_bdat("-1"), Error);
}

// ---------------- DATA reader ----------------

TEST_CASE("data ends only at CRLF.CRLF; content gets LF endings", "[smtp][data]") {
    for (bool bytewise : {false, true}) {
        auto r = read_data("Subject: x\r\n\r\nhello\r\n.\r\nMAIL FROM:<>\r\n", bytewise);
        CHECK(r.done);
        CHECK(r.content == "Subject: x\n\nhello\n");
        CHECK(r.used == std::string_view("Subject: x\r\n\r\nhello\r\n.\r\n").size());
        CHECK(!r.status);
    }
    auto empty = read_data(".\r\n");
    CHECK(empty.done);
    CHECK(empty.content.empty());
}

TEST_CASE("dot-unstuffing", "[smtp][data]") {
    auto r = read_data("..\r\n...x\r\n.y\r\n.\r\n");
    CHECK(r.done);
    CHECK(r.content == ".\n..x\ny\n");
}

TEST_CASE("every smuggling variant: bare CR/LF around the dot never ends data", "[smtp][data]") {
    const char* variants[] = {"\n.\n",     "\n.\r\n",   "\r\n.\n",  "\r.\r\n",   "\r\n.\r",    "\r.\r",
                              "\n.\r\r\n", "\r\n.\r\r\n", "\r\n\r.\r\n", "\r\n.\n\r\n", "\r\n .\r\n", "\r\r\n.\r\r\n"};
    for (const char* v : variants) {
        for (bool bytewise : {false, true}) {
            std::string wire = std::string("Subject: a\r\n\r\nfirst") + v + "MAIL FROM:<evil@x.example>\r\n";
            auto r = read_data(wire, bytewise);
            INFO("variant " << std::string(v).size());
            CHECK(!r.done);
            CHECK(r.used == wire.size());  // everything is still message content
            // Then the real end: the whole thing is refused (except the harmless " ." case).
            DataReader d(DataReader::Mode::data, {});
            std::string out;
            d.feed(wire + "\r\n.\r\n", out);
            CHECK(d.done());
            if (std::string(v) != "\r\n .\r\n") {
                REQUIRE(d.status());
                CHECK(d.status()->code == 554);
                CHECK(d.status()->enhanced == "5.6.11");
            } else {
                CHECK(!d.status());
            }
        }
    }
}

TEST_CASE("bare LF or CR in the middle of a line rejects the message", "[smtp][data]") {
    auto r = read_data("a\nb\r\n.\r\n");
    CHECK(r.done);
    REQUIRE(r.status);
    CHECK(r.status->enhanced == "5.6.11");
    auto r2 = read_data("a\rb\r\n.\r\n");
    REQUIRE(r2.status);
    CHECK(r2.status->enhanced == "5.6.11");
}

TEST_CASE("lines over 1000 octets are refused; 1000 with CRLF is fine", "[smtp][data]") {
    auto ok = read_data(std::string(998, 'a') + "\r\n.\r\n");
    CHECK(!ok.status);
    auto bad = read_data(std::string(999, 'a') + "\r\n.\r\n");
    REQUIRE(bad.status);
    CHECK(bad.status->code == 554);
    CHECK(bad.done);
    // A stuffed dot counts as an octet on the wire.
    auto dotted = read_data("." + std::string(998, 'a') + "\r\n.\r\n");
    CHECK(dotted.status);
}

TEST_CASE("size excess: read to the final dot, then 552", "[smtp][data]") {
    DataReader::Limits l;
    l.max_size = 100;
    std::string wire;
    for (int i = 0; i < 50; ++i) wire += "0123456789\r\n";
    wire += ".\r\nQUIT\r\n";
    auto r = read_data(wire, false, l);
    CHECK(r.done);
    CHECK(r.used == wire.size() - 6);
    REQUIRE(r.status);
    CHECK(r.status->code == 552);
    CHECK(r.status->enhanced == "5.3.4");
    CHECK(r.content.size() <= 100);
}

TEST_CASE("100 Received fields mean a loop: 554 5.4.6", "[smtp][data]") {
    std::string h;
    for (int i = 0; i < 99; ++i) h += "Received: from x by y; date\r\n";
    CHECK(!read_data(h + "\r\nbody\r\n.\r\n").status);
    auto r = read_data(h + "received: one more\r\n\r\nbody\r\n.\r\n");
    REQUIRE(r.status);
    CHECK(r.status->enhanced == "5.4.6");
    // Received: lines in the body do not count.
    CHECK(!read_data("Subject: x\r\n\r\n" + h + "Received: z\r\n.\r\n").status);
}

TEST_CASE("local mode accepts LF line endings", "[smtp][data]") {
    DataReader::Limits l;
    l.lf_ends_line = true;
    auto r = read_data("a\nb\r\n..c\n.\nrest", false, l);
    CHECK(r.done);
    CHECK(r.content == "a\nb\n.c\n");
    CHECK(!r.status);
}

TEST_CASE("BDAT mode: no dot handling, CRLF across chunks", "[smtp][data]") {
    DataReader d(DataReader::Mode::bdat, {});
    std::string out;
    CHECK(d.feed("a\r", out) == 2);
    CHECK(d.feed("\n.\r\n.", out) == 5);
    d.finish(out);
    CHECK(out == "a\n.\n.\n");
    CHECK(!d.status());
    DataReader bad(DataReader::Mode::bdat, {});
    bad.feed("a\nb\r\n", out);
    bad.finish(out);
    CHECK(bad.status());
}

// ---------------- session ----------------

TEST_CASE("a whole transaction, pipelined", "[smtp][session]") {
    Fixture f;
    auto r = f.talk("EHLO c.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<bob@local.test>\r\nDATA\r\n");
    REQUIRE(r.size() == 12);
    CHECK(r[0] == "250-mx.test");
    CHECK(std::find(r.begin(), r.end(), "250-PIPELINING") != r.end());
    CHECK(std::find(r.begin(), r.end(), "250-CHUNKING") != r.end());
    CHECK(std::find(r.begin(), r.end(), "250-SIZE 1000") != r.end());
    CHECK(std::find(r.begin(), r.end(), "250-STARTTLS") == r.end());
    CHECK(r[9] == "250 2.1.0 Ok");
    CHECK(r[10] == "250 2.1.5 Ok");
    CHECK(starts(r[11], "354 "));
    CHECK(f.last("Subject: t\r\n\r\nhi\r\n.\r\n") == "250 2.0.0 Ok: queued as ID1");
    REQUIRE(f.backend.stored.count("ID1"));
    const std::string& msg = f.backend.stored["ID1"];
    CHECK(starts(msg, "Received: from c.example (client.example [192.0.2.7])\n\tby mx.test (mta) with ESMTP id ID1\n\tfor <bob@local.test>; "));
    CHECK(msg.find("\nSubject: t\n\nhi\n") != std::string::npos);
    REQUIRE(f.backend.envelopes.size() == 1);
    CHECK(f.backend.envelopes[0].client == "client.example[192.0.2.7]");
    CHECK(f.backend.envelopes[0].helo == "c.example");
    CHECK(f.last("QUIT\r\n") == "221 2.0.0 Bye");
    CHECK(f.s->closed());
}

TEST_CASE("command order: 503", "[smtp][session]") {
    Fixture f;
    CHECK(starts(f.last("MAIL FROM:<a@x.example>\r\n"), "503 5.5.1"));
    f.talk("HELO c.example\r\n");
    CHECK(starts(f.last("RCPT TO:<bob@local.test>\r\n"), "503 5.5.1"));
    CHECK(starts(f.last("DATA\r\n"), "503 5.5.1"));
    CHECK(f.last("MAIL FROM:<a@x.example>\r\n") == "250 2.1.0 Ok");
    CHECK(starts(f.last("MAIL FROM:<a@x.example>\r\n"), "503 5.5.1"));
    CHECK(starts(f.last("DATA\r\n"), "554 5.5.1"));
    CHECK(f.last("RSET\r\n") == "250 2.0.0 Ok");
    CHECK(starts(f.last("RCPT TO:<bob@local.test>\r\n"), "503"));
}

TEST_CASE("simple replies: NOOP, HELP, VRFY, unknown, syntax", "[smtp][session]") {
    Fixture f;
    CHECK(f.last("NOOP\r\n") == "250 2.0.0 Ok");
    CHECK(starts(f.last("HELP\r\n"), "214 "));
    CHECK(starts(f.last("VRFY root\r\n"), "252 2.5.2"));
    CHECK(starts(f.last("XYZZY\r\n"), "500 5.5.2"));
    CHECK(starts(f.last("EHLO\r\n"), "501 5.5.4"));
    CHECK(starts(f.last(std::string("NOOP\0\r\n", 7)), "501 5.5.2"));
    CHECK(starts(f.last("HELO c.example\r\n"), "250 mx.test"));
    CHECK(starts(f.last("MAIL FROM:<a@x.example> SIZE=10\r\n"), "555"));  // parameters need EHLO
}

TEST_CASE("bare LF ends no command; long lines are refused and drained", "[smtp][session]") {
    Fixture f;
    CHECK(starts(f.last("NOOP\n"), "500 5.5.2"));
    auto r = f.talk(std::string(3000, 'A') + "\r\nNOOP\r\n");
    REQUIRE(r.size() == 2);
    CHECK(starts(r[0], "500 5.5.2"));
    CHECK(r[1] == "250 2.0.0 Ok");
}

TEST_CASE("relay policy at RCPT: 550 5.1.1 and 554 5.7.1, postmaster always", "[smtp][session]") {
    Fixture f;
    f.talk("EHLO c.example\r\nMAIL FROM:<>\r\n");
    CHECK(starts(f.last("RCPT TO:<nobody@local.test>\r\n"), "550 5.1.1"));
    CHECK(starts(f.last("RCPT TO:<x@elsewhere.example>\r\n"), "554 5.7.1"));
    CHECK(starts(f.last("RCPT TO:<bob%elsewhere.example@local.test>\r\n"), "550 5.1.1"));
    CHECK(starts(f.last("RCPT TO:<@local.test:x@elsewhere.example>\r\n"), "554 5.7.1"));
    CHECK(f.last("RCPT TO:<Postmaster>\r\n") == "250 2.1.5 Ok");
    CHECK(f.last("RCPT TO:<POSTMASTER@local.test>\r\n") == "250 2.1.5 Ok");
}

TEST_CASE("trusted clients and RELAYCLIENT may relay", "[smtp][session]") {
    Fixture f([](SessionConfig&, Peer& p) { p.relayclient = true; });
    f.talk("EHLO c.example\r\nMAIL FROM:<a@x.example>\r\n");
    CHECK(f.last("RCPT TO:<x@elsewhere.example>\r\n") == "250 2.1.5 Ok");
    Fixture g([](SessionConfig& c, Peer&) { c.may_relay = true; });
    g.talk("EHLO c.example\r\nMAIL FROM:<a@x.example>\r\n");
    CHECK(g.last("RCPT TO:<x@elsewhere.example>\r\n") == "250 2.1.5 Ok");
}

TEST_CASE("SIZE too large: 552 5.3.4; recipient limit: 452 4.5.3", "[smtp][session]") {
    Fixture f;
    f.talk("EHLO c.example\r\n");
    CHECK(starts(f.last("MAIL FROM:<a@x.example> SIZE=1001\r\n"), "552 5.3.4"));
    CHECK(f.last("MAIL FROM:<a@x.example> SIZE=1000\r\n") == "250 2.1.0 Ok");
    for (int i = 0; i < 3; ++i) CHECK(f.last("RCPT TO:<bob@local.test>\r\n") == "250 2.1.5 Ok");
    CHECK(starts(f.last("RCPT TO:<bob@local.test>\r\n"), "452 4.5.3"));
    f.talk("DATA\r\n");
    std::string big;
    for (int i = 0; i < 200; ++i) big += "0123456789\r\n";
    CHECK(starts(f.last(big + ".\r\n"), "552 5.3.4"));
    CHECK(f.backend.stored.empty());
    CHECK(f.backend.aborted >= 1);
    CHECK(f.last("NOOP\r\n") == "250 2.0.0 Ok");  // in step after the dot
}

TEST_CASE("DSN parameters reach the envelope; for only with one recipient", "[smtp][session]") {
    Fixture f;
    f.talk("EHLO c.example\r\nMAIL FROM:<a@x.example> RET=FULL ENVID=e1 BODY=8BITMIME\r\n"
           "RCPT TO:<bob@local.test> NOTIFY=DELAY ORCPT=rfc822;b@o.example\r\nRCPT TO:<postmaster@local.test>\r\nDATA\r\n");
    CHECK(starts(f.last("x\r\n.\r\n"), "250 2.0.0"));
    REQUIRE(f.backend.envelopes.size() == 1);
    auto& e = f.backend.envelopes[0];
    CHECK(e.ret == "FULL");
    CHECK(e.envid == "e1");
    CHECK(e.body == "8BITMIME");
    REQUIRE(e.recipients.size() == 2);
    CHECK(e.recipients[0].notify == "DELAY");
    CHECK(e.recipients[0].orcpt == "rfc822;b@o.example");
    CHECK(f.backend.stored["ID1"].find("\tfor <") == std::string::npos);
}

TEST_CASE("storage failure: 452 4.3.1 or 451 4.3.0, never 250", "[smtp][session]") {
    Fixture f;
    f.backend.fail_write = true;
    f.talk("EHLO c.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<bob@local.test>\r\nDATA\r\n");
    CHECK(starts(f.last("x\r\n.\r\n"), "452 4.3.1"));
    f.backend.fail_write = false;
    f.backend.fail_commit = true;
    f.talk("MAIL FROM:<a@x.example>\r\nRCPT TO:<bob@local.test>\r\nDATA\r\n");
    CHECK(starts(f.last("x\r\n.\r\n"), "451 4.3.0"));
    CHECK(f.backend.stored.empty());
}

TEST_CASE("BDAT chunks, pipelined, and BDAT LAST commits", "[smtp][session]") {
    Fixture f;
    auto r = f.talk("EHLO c.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<bob@local.test>\r\n"
                    "BDAT 5\r\nab\r\ncBDAT 4 LAST\r\n d\r\nNOOP\r\n");
    REQUIRE(r.size() >= 4);
    CHECK(r[r.size() - 3] == "250 2.0.0 Ok: 5 octets received");
    CHECK(r[r.size() - 2] == "250 2.0.0 Ok: queued as ID1");
    CHECK(r.back() == "250 2.0.0 Ok");
    CHECK(f.backend.stored["ID1"].substr(f.backend.stored["ID1"].find("\nab")) == "\nab\nc d\n");
    CHECK(starts(f.last("BDAT 3 LAST\r\nabc"), "503"));
}

TEST_CASE("too many errors: 421 and close", "[smtp][session]") {
    Fixture f;
    for (int i = 0; i < 9; ++i) CHECK(starts(f.last("BOGUS\r\n"), "500"));
    auto r = f.talk("BOGUS\r\nNOOP\r\n");
    REQUIRE(r.size() == 2);
    CHECK(starts(r[1], "421 4.7.0"));
    CHECK(f.s->closed());
}

TEST_CASE("STARTTLS discards pipelined plaintext and resets the session", "[smtp][session]") {
    Fixture f([](SessionConfig& c, Peer&) { c.starttls_available = true; });
    auto r = f.talk("EHLO c.example\r\nSTARTTLS\r\nMAIL FROM:<evil@x.example>\r\n");
    CHECK(std::find(r.begin(), r.end(), "250-STARTTLS") != r.end());
    CHECK(r.back() == "220 2.0.0 Ready to start TLS");
    CHECK(f.s->tls_pending());
    f.s->tls_started("TLSv1.3 with cipher X");
    // The pipelined MAIL was discarded; the EHLO must be repeated.
    CHECK(starts(f.last("MAIL FROM:<a@x.example>\r\n"), "503"));
    r = f.talk("EHLO c.example\r\n");
    CHECK(std::find(r.begin(), r.end(), "250-STARTTLS") == r.end());
    f.talk("MAIL FROM:<a@x.example>\r\nRCPT TO:<bob@local.test>\r\nDATA\r\n");
    CHECK(starts(f.last("x\r\n.\r\n"), "250 2.0.0"));
    CHECK(f.backend.stored["ID1"].find("(using TLSv1.3 with cipher X)\n\tby mx.test (mta) with ESMTPS id") != std::string::npos);
}

TEST_CASE("AUTH PLAIN and LOGIN; refused without TLS off loopback", "[smtp][session]") {
    Fixture f([](SessionConfig& c, Peer&) { c.auth_available = true; });
    auto r = f.talk("EHLO c.example\r\n");
    CHECK(std::find(r.begin(), r.end(), "250-AUTH PLAIN LOGIN") == r.end());
    CHECK(starts(f.last("AUTH PLAIN " + base64::encode(std::string("\0ann\0secret", 11)) + "\r\n"), "538 5.7.11"));

    Fixture g([](SessionConfig& c, Peer&) {
        c.auth_available = true;
        c.tls_active = true;
        c.tls_info = "TLSv1.3 with cipher X";
    });
    r = g.talk("EHLO c.example\r\n");
    CHECK(std::find(r.begin(), r.end(), "250-AUTH PLAIN LOGIN") != r.end());
    CHECK(starts(g.last("AUTH PLAIN " + base64::encode(std::string("\0ann\0wrong", 10)) + "\r\n"), "535 5.7.8"));
    CHECK(g.last("AUTH LOGIN\r\n") == "334 VXNlcm5hbWU6");
    CHECK(g.last(base64::encode("ann") + "\r\n") == "334 UGFzc3dvcmQ6");
    CHECK(starts(g.last(base64::encode("secret") + "\r\n"), "235 2.7.0"));
    g.talk("MAIL FROM:<ann@x.example>\r\n");
    CHECK(g.last("RCPT TO:<x@elsewhere.example>\r\n") == "250 2.1.5 Ok");
    g.talk("DATA\r\n");
    g.talk("x\r\n.\r\n");
    REQUIRE(g.backend.envelopes.size() == 1);
    CHECK(g.backend.envelopes[0].auth == "ann");
    CHECK(g.backend.envelopes[0].protocol == "ESMTPSA");

    Fixture h([](SessionConfig& c, Peer& p) {
        c.auth_available = true;
        p.ip = "127.0.0.1";
    });
    h.talk("EHLO c.example\r\n");
    CHECK(h.last("AUTH PLAIN\r\n") == "334 ");
    CHECK(starts(h.last(base64::encode(std::string("\0ann\0secret", 11)) + "\r\n"), "235"));
}

TEST_CASE("timeout: 421 4.4.2 and close", "[smtp][session]") {
    Fixture f;
    f.s->timeout();
    CHECK(starts(f.s->take_output(), "421 4.4.2"));
    CHECK(f.s->closed());
}

TEST_CASE("local mode: LF tolerated, client local", "[smtp][session]") {
    Fixture f([](SessionConfig& c, Peer& p) {
        c.local = true;
        c.local_user = "uid 1000";
        p = Peer();
        p.local = true;
    });
    f.talk("EHLO me\nMAIL FROM:<me@x.example>\nRCPT TO:<x@elsewhere.example>\nDATA\n");
    CHECK(starts(f.last("hi\n.\n"), "250 2.0.0"));
    REQUIRE(f.backend.envelopes.size() == 1);
    CHECK(f.backend.envelopes[0].client == "local");
    INFO(f.backend.stored["ID1"]);
    CHECK(starts(f.backend.stored["ID1"], "Received: from me (uid 1000)\n\tby mx.test"));
}

// ---------------- Received, relay policy, PROXY, passwords ----------------

TEST_CASE("Received header fields are sanitized", "[smtp][received]") {
    TraceInfo t;
    t.helo = "evil\r\nX-Injected: 1";
    t.client_name = "unknown";
    t.client_ip = "2001:db8::1";
    t.by = "mx.test";
    t.protocol = with_protocol(true, true, true, false);
    t.id = "ID";
    t.recipients = {"a@b.example"};
    t.when = 0;
    std::string h = received_header(t);
    CHECK(h.find("\r") == std::string::npos);
    CHECK(h.find("from evil??X-Injected:?1 (unknown [IPv6:2001:db8::1])") != std::string::npos);
    CHECK(h.find("with ESMTPSA id ID") != std::string::npos);
    CHECK(with_protocol(false, false, false, false) == "SMTP");
    CHECK(with_protocol(true, false, false, true) == "UTF8SMTP");
}

TEST_CASE("networks", "[smtp][relay]") {
    auto n = Network::parse("192.0.2.0/24");
    CHECK(n.contains("192.0.2.200"));
    CHECK(!n.contains("192.0.3.1"));
    CHECK(!n.contains("::1"));
    CHECK(Network::parse("2001:db8::/32").contains("2001:db8:1::5"));
    CHECK(Network::parse("::1").contains("::1"));
    CHECK(Network::parse("0.0.0.0/0").contains("203.0.113.9"));
    CHECK_THROWS_AS(Network::parse("10.0.0.0/33"), Error);
    CHECK_THROWS_AS(Network::parse("example.org"), Error);
}

TEST_CASE("PROXY v1 and v2 headers", "[smtp][proxy]") {
    auto h = proxy::parse_v1("PROXY TCP4 198.51.100.1 192.0.2.2 56324 25\r\n");
    CHECK(h.src_ip == "198.51.100.1");
    CHECK(h.src_port == 56324);
    CHECK(h.dst_port == 25);
    CHECK(proxy::parse_v1("PROXY UNKNOWN\r\n").use_connection);
    CHECK(proxy::parse_v1("PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n").src_ip == "2001:db8::1");
    CHECK_THROWS_AS(proxy::parse_v1("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), Error);
    CHECK_THROWS_AS(proxy::parse_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), Error);
    CHECK_THROWS_AS(proxy::parse_v1("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), Error);
    std::string v2("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c", 16);
    v2 += std::string("\xc6\x33\x64\x01\xc0\x00\x02\x02\x13\x88\x00\x19", 12);
    auto h2 = proxy::parse_v2(v2);
    CHECK(h2.src_ip == "198.51.100.1");
    CHECK(h2.src_port == 5000);
    CHECK(h2.dst_port == 25);
    std::string local("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16);
    CHECK(proxy::parse_v2(local).use_connection);
    CHECK_THROWS_AS(proxy::parse_v2(v2.substr(0, 20)), Error);
    // TCP over IPv6: 2001:db8::1 port 5000 to 2001:db8::2 port 587.
    std::string v6("\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x24", 16);
    std::string a1(16, '\0'), a2(16, '\0');
    a1[0] = a2[0] = '\x20';
    a1[1] = a2[1] = '\x01';
    a1[2] = a2[2] = '\x0d';
    a1[3] = a2[3] = '\xb8';
    a1[15] = '\x01';
    a2[15] = '\x02';
    v6 += a1 + a2 + std::string("\x13\x88\x02\x4b", 4);
    auto h6 = proxy::parse_v2(v6);
    CHECK(h6.src_ip == "2001:db8::1");
    CHECK(h6.dst_ip == "2001:db8::2");
    CHECK(h6.src_port == 5000);
    CHECK(h6.dst_port == 587);
    CHECK_THROWS_AS(proxy::parse_v2(v6.substr(0, 16) + a1 + a2), Error);  // length says 36, 32 given
    std::string short6("\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x20", 16);
    CHECK_THROWS_AS(proxy::parse_v2(short6 + a1 + a2), Error);  // an address block too short for IPv6
    // tcprules matched the proxy: what they said does not pass to its clients.
    Peer proxy_peer;
    proxy_peer.ip = "127.0.0.1";
    proxy_peer.name = "localhost";
    proxy_peer.relayclient = true;
    proxy_peer.relayclient_suffix = ".relay";
    proxy::apply(h6, proxy_peer);
    CHECK(proxy_peer.ip == "2001:db8::1");
    CHECK_FALSE(proxy_peer.relayclient);
    CHECK(proxy_peer.relayclient_suffix.empty());
    CHECK(proxy_peer.name == "unknown");
}

TEST_CASE("password hashes", "[smtp][password]") {
    std::string h = password_file::make_hash("s3cret", 1000);
    CHECK(h.rfind("$pbkdf2-sha512$1000$", 0) == 0);
    CHECK(password_file::check_hash(h, "s3cret"));
    CHECK(!password_file::check_hash(h, "s3cret "));
    CHECK(password_file::make_hash("s3cret", 1000) != h);  // salted
    CHECK(!password_file::check_hash("plain", "plain"));
    CHECK_THROWS_AS(password_file::make_entry("a:b", "x"), Error);
    CHECK(base64::decode(base64::encode("hello!")) == "hello!");
    CHECK(!base64::decode("a$=="));
}
