#include "outgoing_message.hpp"
#include "smtp_auth_client.hpp"
#include "smtp_data.hpp"
#include "smtp_reply.hpp"
#include "smtp_transaction.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <utility>

using namespace mta;

TEST_CASE("single and multi-line replies parse", "[smtp_reply]") {
    SmtpReply r = parse_smtp_reply("250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
    CHECK(r.code == 250);
    REQUIRE(r.lines.size() == 3);
    CHECK(r.lines[1] == "PIPELINING");
    CHECK(r.positive());

    SmtpReply bare = parse_smtp_reply("354\r\n");
    CHECK(bare.code == 354);
    CHECK(bare.intermediate());
    CHECK(bare.one_line() == "354");

    SmtpReply e = parse_smtp_reply("550-5.1.1 <bob@example.org>: no such user\n550 5.1.1 try later\n");
    CHECK(e.enhanced() == "5.1.1");
    Status s = e.status("X.1.0");
    CHECK(s.outcome == Outcome::permanent);
    CHECK(s.code == 550);
    CHECK(s.enhanced == "5.1.1");
    CHECK(s.text == "<bob@example.org>: no such user 5.1.1 try later");
}

TEST_CASE("enhanced codes: fallback when absent or of the wrong class", "[smtp_reply]") {
    CHECK(parse_smtp_reply("451 try again\r\n").status("X.1.0").enhanced == "4.1.0");
    CHECK(parse_smtp_reply("451 5.1.1 mismatched class\r\n").status().enhanced == "4.0.0");
    CHECK(parse_smtp_reply("250 ok\r\n").status("2.0.0").enhanced == "2.0.0");
    CHECK(parse_smtp_reply("421 4.7.0 closing\r\n").status().outcome == Outcome::temporary);
}

TEST_CASE("malformed replies are temporary errors, never crashes", "[smtp_reply]") {
    auto temp = [](std::string_view text) {
        try {
            parse_smtp_reply(text);
        } catch (const Error& e) {
            return e.status().outcome == Outcome::temporary && e.status().enhanced == "4.5.0";
        }
        return false;
    };
    CHECK(temp("hello\r\n"));
    CHECK(temp("25\r\n"));
    CHECK(temp("2500 ok\r\n"));
    CHECK(temp("650 out of range\r\n"));
    CHECK(temp("150 out of range\r\n"));
    CHECK(temp("250-first\r\n251 second\r\n"));  // codes change
    CHECK(temp("250-first\r\n"));                // never ends
    CHECK(temp("25a ok\r\n"));
    CHECK(temp(""));
    CHECK(temp("250 " + std::string(SmtpReplyParser::max_line, 'x') + "\r\n"));
    std::string many;
    for (size_t i = 0; i < SmtpReplyParser::max_lines + 1; ++i) many += "250-x\r\n";
    CHECK(temp(many + "250 end\r\n"));
    // The parser is reusable after an error.
    SmtpReplyParser p;
    CHECK_THROWS_AS(p.feed("xyz"), Error);
    auto ok = p.feed("220 ready");
    REQUIRE(ok);
    CHECK(ok->code == 220);
}

TEST_CASE("content goes on the wire as CRLF lines, dot-stuffed", "[smtp_data]") {
    CHECK(smtp_data("a\nb\n") == "a\r\nb\r\n.\r\n");
    CHECK(smtp_data("a\r\nb\r\n") == "a\r\nb\r\n.\r\n");
    CHECK(smtp_data("a\rb") == "a\r\nb\r\n.\r\n");          // bare CR becomes a line end
    CHECK(smtp_data("no newline") == "no newline\r\n.\r\n");
    CHECK(smtp_data("") == ".\r\n");
    CHECK(smtp_data(".\n") == "..\r\n.\r\n");
    CHECK(smtp_data(".hidden\n..two\nmid.dot\n") == "..hidden\r\n...two\r\nmid.dot\r\n.\r\n");
    CHECK(smtp_data("x\r\n.\r\ny\n") == "x\r\n..\r\ny\r\n.\r\n");  // a lone dot is not the end
    CHECK(smtp_data("a\n\n\nb") == "a\r\n\r\n\r\nb\r\n.\r\n");
    CHECK(smtp_data("a\r\r\nb") == "a\r\n\r\nb\r\n.\r\n");

    // Fed in pieces, split anywhere (between CR and LF too), the same bytes.
    std::string text = "From: a\r\n.x\n\r\n.\r.y\nlast";
    for (size_t cut = 0; cut <= text.size(); ++cut) {
        std::string out;
        SmtpDataEncoder e;
        e.feed(std::string_view(text).substr(0, cut), out);
        e.feed(std::string_view(text).substr(cut), out);
        e.finish(out);
        CHECK(out == smtp_data(text));
    }
    // No bare CR or LF ever reaches the wire.
    std::string w = smtp_data("a\rb\nc\r\n\n\r\rd");
    for (size_t i = 0; i < w.size(); ++i) {
        if (w[i] == '\r') CHECK((i + 1 < w.size() && w[i + 1] == '\n'));
        if (w[i] == '\n') CHECK((i > 0 && w[i - 1] == '\r'));
    }
}

TEST_CASE("the content encoder agrees with a byte-at-a-time reference", "[smtp_data]") {
    // The rules one byte at a time: CR LF, bare CR and bare LF end a line;
    // a line's leading dot is doubled; an unterminated last line is ended.
    auto reference = [](std::string_view in) {
        std::string out;
        bool start = true;
        for (size_t i = 0; i < in.size(); ++i) {
            char c = in[i];
            if (c == '\r' || c == '\n') {
                out += "\r\n";
                start = true;
                if (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
                continue;
            }
            if (start && c == '.') out += '.';
            start = false;
            out += c;
        }
        if (!in.empty() && !start) out += "\r\n";
        return out + ".\r\n";
    };
    const char alphabet[] = {'\r', '\n', '.', 'x', '\xc3', ' '};
    std::uint32_t seed = 12345;
    for (int round = 0; round < 2000; ++round) {
        std::string in;
        size_t len = round % 97;
        for (size_t i = 0; i < len; ++i) {
            seed = seed * 1103515245u + 12345u;
            in += alphabet[(seed >> 16) % sizeof alphabet];
        }
        std::string want = reference(in);
        CHECK(smtp_data(in) == want);
        // Fed in three pieces, cut where the seed says.
        seed = seed * 1103515245u + 12345u;
        size_t a = len ? (seed >> 16) % (len + 1) : 0, b = len ? (seed >> 8) % (len + 1) : 0;
        if (a > b) std::swap(a, b);
        std::string out;
        SmtpDataEncoder e;
        e.feed(std::string_view(in).substr(0, a), out);
        e.feed(std::string_view(in).substr(a, b - a), out);
        e.feed(std::string_view(in).substr(b), out);
        e.finish(out);
        CHECK(out == want);
        CHECK(has_8bit(in) == (in.find('\xc3') != std::string::npos));
    }
    // Long runs cross the eight-byte blocks of the 8-bit check.
    for (size_t at = 0; at < 200; ++at) {
        std::string s(200, 'a');
        CHECK_FALSE(has_8bit(s));
        s[at] = '\x80';
        CHECK(has_8bit(s));
        CHECK(has_8bit(std::string_view(s).substr(0, at + 1)));
        CHECK_FALSE(has_8bit(std::string_view(s).substr(0, at)));
    }
}

TEST_CASE("8-bit content is detected", "[smtp_data]") {
    CHECK_FALSE(has_8bit("plain ASCII\r\n\t~\x7f"));
    CHECK(has_8bit("caf\xc3\xa9"));
    CHECK(has_8bit(std::string("\x80", 1)));
    CHECK(has_8bit(std::string("abc\xff", 4)));
    CHECK_FALSE(has_8bit(""));
    OutgoingMessage m = make_message("Subject: caf\xc3\xa9\n\nx\n", "a@example.org", {"b@example.net"});
    CHECK(m.eight_bit);
    CHECK_FALSE(m.smtputf8);
    OutgoingMessage u = make_message("x\n", "a@example.org", {"j\xc3\xb6rg@example.net"});
    CHECK(u.smtputf8);
}

TEST_CASE("EHLO replies list the extensions", "[smtp_transaction]") {
    ServerFeatures f = parse_ehlo(parse_smtp_reply("250-mx.example.org hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
                                                   "250-8bitmime\r\n250-DSN\r\n250-STARTTLS\r\n250-AUTH=LOGIN\r\n"
                                                   "250-AUTH PLAIN login\r\n250 SMTPUTF8\r\n"));
    CHECK(f.esmtp);
    CHECK(f.pipelining);
    CHECK(f.size);
    CHECK(f.size_limit == 10240000);
    CHECK(f.eightbitmime);
    CHECK(f.dsn);
    CHECK(f.starttls);
    CHECK(f.smtputf8);
    CHECK(f.auth == std::vector<std::string>{"LOGIN", "PLAIN"});
    ServerFeatures g = parse_ehlo(parse_smtp_reply("250-x\r\n250 SIZE\r\n"));
    CHECK(g.size);
    CHECK(g.size_limit == 0);
    CHECK_FALSE(g.pipelining);
}

TEST_CASE("MAIL and RCPT carry the parameters the server offers", "[smtp_transaction]") {
    OutgoingMessage m = make_message("caf\xc3\xa9\n", "a@example.org", {"b@example.net"});
    m.ret = "HDRS";
    m.envid = "id 1+2";
    m.recipients[0].notify = "SUCCESS,FAILURE";
    m.recipients[0].orcpt = "rfc822;b@example.net";
    ServerFeatures none;
    CHECK(mail_command(m, none) == "MAIL FROM:<a@example.org>");
    CHECK(rcpt_command(m, m.recipients[0], none) == "RCPT TO:<b@example.net>");
    ServerFeatures all;
    all.size = all.eightbitmime = all.dsn = all.smtputf8 = true;
    CHECK(mail_command(m, all) == "MAIL FROM:<a@example.org> SIZE=7 BODY=8BITMIME RET=HDRS ENVID=id+201+2B2");
    CHECK(rcpt_command(m, m.recipients[0], all) ==
          "RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.net");
    m.recipients[0].orcpt = "rfc822;b c@example.net";
    CHECK(rcpt_command(m, m.recipients[0], all) == "RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+20c@example.net");
    OutgoingMessage null = make_message("x\n", "<>", {"<b@example.net>", "not an address"});
    CHECK(mail_command(null, none) == "MAIL FROM:<>");
    CHECK(null.recipients[0].given == "b@example.net");
    CHECK_FALSE(null.recipients[0].error);
    REQUIRE(null.recipients[1].error);
    CHECK(null.recipients[1].error->outcome == Outcome::permanent);
}

TEST_CASE("xtext and base64", "[smtp_auth]") {
    CHECK(xtext("plain") == "plain");
    CHECK(xtext("a+b=c d") == "a+2Bb+3Dc+20d");
    CHECK(xtext("\xc3\xa9") == "+C3+A9");
    CHECK(base64_encode("") == "");
    CHECK(base64_encode(std::string("\0user\0pass", 10)) == "AHVzZXIAcGFzcw==");
    CHECK(base64_encode("Username:") == "VXNlcm5hbWU6");
}

TEST_CASE("credentials file entries", "[smtp_auth]") {
    std::string text = "# relays\n\n  smart  alice   s3cret with spaces  \nother bob pw\nbroken onlyuser\n";
    auto c = find_credentials(text, "smart");
    REQUIRE(c);
    CHECK(c->username == "alice");
    CHECK(c->password == "s3cret with spaces");
    CHECK(find_credentials(text, "other")->password == "pw");
    CHECK_FALSE(find_credentials(text, "broken"));
    CHECK_FALSE(find_credentials(text, "missing"));
    CHECK_FALSE(find_credentials(text, "#"));
}
