// Hardening: every fault the fuzz targets (fuzz/*.cpp) found, as a unit
// test, and the properties they check on inputs worth keeping.
//
// Test cases named "found:" are faults the fuzzers found (since fixed).
#include "aliases.hpp"
#include "local_submission.hpp"
#include "message_header.hpp"
#include "proxy_protocol.hpp"
#include "smtp_command.hpp"
#include "smtp_data_reader.hpp"
#include "smtp_reply.hpp"
#include "status.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using mta::smtp::DataReader;

namespace {

// Feeds `wire` to a DATA reader in pieces of `piece` bytes.
struct DataRun {
    std::string out;
    size_t used = 0;
    bool done = false;
    bool accepted = false;
};

DataRun read_data(std::string_view wire, size_t piece) {
    DataReader r(DataReader::Mode::data, DataReader::Limits{});
    DataRun x;
    while (x.used < wire.size() && !r.done()) {
        size_t n = std::min(piece, wire.size() - x.used);
        x.used += r.feed(wire.substr(x.used, n), x.out);
    }
    x.done = r.done();
    x.accepted = !r.status().has_value();
    return x;
}

}  // namespace

// Found by fuzz/aliases: in a ~/.forward file (or any right-hand side), a
// quote that is never closed swallows the rest of the file into one value.
// A forgotten closing quote after a command turns the addresses on the next
// lines into more shell command lines instead of an error.
TEST_CASE("found (lib/aliases, mta-deliver): an unterminated quote in .forward is refused", "[hardening][found]") {
    std::string_view forward = "\"|/usr/bin/procmail -d alice\nbob@example.org\n";
    bool refused = false;
    std::vector<std::string> values;
    try {
        values = mta::aliases::split_values(forward);
    } catch (const mta::Error&) {
        refused = true;
    }
    INFO("values: " << values.size() << (values.empty() ? "" : ", first: " + values[0]));
    CHECK(refused);
}

TEST_CASE("found (lib/aliases, mta-deliver): a .forward value never holds a line break", "[hardening][found]") {
    // Two quoted values, the first one's closing quote forgotten: the
    // second quote closes it on the next line.
    std::string_view forward = "\"|/usr/bin/vacation alice\nbob@example.org, \"|/bin/cat\"\n";
    try {
        for (const std::string& v : mta::aliases::split_values(forward)) {
            INFO("value: " << v);
            CHECK(v.find('\n') == std::string::npos);
        }
    } catch (const mta::Error&) {
        SUCCEED("refused");
    }
}

// Found by fuzz/message_header: a field whose value is only white space
// ("Subject: " with a trailing blank) has the value "\n" instead of "":
// HeaderField::value() promises an unfolded value with no line break.
TEST_CASE("found (lib/message_header, sendmail): the value of a blank field is empty", "[hardening][found]") {
    mta::MessageHeader h = mta::MessageHeader::parse("Subject: \nCc: \t\nTo: a@example.org\n");
    REQUIRE(h.fields().size() == 3);
    CHECK(h.fields()[0].value() == "");
    CHECK(h.fields()[1].value() == "");
    CHECK(h.fields()[2].value() == "a@example.org");
}

// Found by fuzz/message_header: a bare CR inside a quoted local part of a
// To:/Cc: field is dropped in some places and kept in others, so
// `"a<CR>b"@example.org` in a header silently becomes the recipient
// ab@example.org (sendmail -t), a mailbox the writer never named. A bare CR
// is in no RFC 5322 address: the list must be refused.
TEST_CASE("found (lib/message_header, sendmail -t): a bare CR or LF in an address list is refused", "[hardening][found]") {
    std::vector<mta::Address> got;
    bool refused = false;
    try {
        got = mta::parse_addresses("\"a\rb\"@example.org", "example.org");
    } catch (const mta::Error&) {
        refused = true;
    }
    INFO("got " << (got.empty() ? std::string("nothing") : got[0].str()));
    CHECK(refused);
    // And no mailbox parse_address_list returns ever holds a CR or LF
    // (found with a quoted "o\nTo:x" local part).
    try {
        for (const mta::Mailbox& m : mta::parse_address_list("\"A a\r\r\" Grou\r\r <x@example.org>, \"b\r\"@example.org"))
            CHECK(m.address.find('\r') == std::string::npos);
    } catch (const mta::Error&) {
    }
    try {
        for (const mta::Mailbox& m : mta::parse_address_list("\"o\nTo:x\"@example.org"))
            CHECK(m.address.find('\n') == std::string::npos);
    } catch (const mta::Error&) {
    }
}

TEST_CASE("hardening: DATA ends only at CRLF . CRLF, wherever the network cuts the bytes", "[hardening]") {
    // SMTP smuggling: none of these bare-LF or bare-CR "ends" may end the
    // message; the message is refused as a whole after the real end.
    const char* smuggled[] = {
        "a\r\n.\nMAIL FROM:<x@evil.example>\r\n.\r\n",
        "a\n.\r\nMAIL FROM:<x@evil.example>\r\n.\r\n",
        "a\r\n.\rMAIL FROM:<x@evil.example>\r\n.\r\n",
        "a\r.\r\nMAIL FROM:<x@evil.example>\r\n.\r\n",
    };
    for (const char* s : smuggled) {
        std::string_view wire = s;
        for (size_t piece : {size_t(1), size_t(2), size_t(3), size_t(7), wire.size()}) {
            INFO("input " << std::string(wire) << " in pieces of " << piece);
            DataRun x = read_data(wire, piece);
            CHECK(x.done);
            CHECK(x.used == wire.size());
            CHECK_FALSE(x.accepted);
        }
    }
    // A clean message: the same content in every cut, dots unstuffed.
    std::string_view wire = "Subject: x\r\n\r\n..leading dot\r\n.\r\n";
    for (size_t piece = 1; piece <= wire.size(); ++piece) {
        DataRun x = read_data(wire, piece);
        CHECK(x.accepted);
        CHECK(x.used == wire.size());
        CHECK(x.out == "Subject: x\n\n.leading dot\n");
    }
}

TEST_CASE("hardening: SMTP replies that mix codes or have no end are refused", "[hardening]") {
    CHECK_THROWS_AS(mta::parse_smtp_reply("250-a\r\n550 b\r\n"), mta::Error);
    CHECK_THROWS_AS(mta::parse_smtp_reply("250-a\r\n"), mta::Error);
    CHECK_THROWS_AS(mta::parse_smtp_reply("099 a\r\n"), mta::Error);
    mta::SmtpReply r = mta::parse_smtp_reply("451-4.7.1 a\r\n451 b\r\n");
    CHECK(r.code == 451);
    CHECK(r.status().outcome == mta::Outcome::temporary);
    CHECK(r.one_line().find('\n') == std::string::npos);
}

TEST_CASE("hardening: a PROXY v1 header prints back to the same addresses", "[hardening]") {
    auto h = mta::proxy::parse_v1("PROXY TCP6 2001:db8::1 2001:db8::2 56324 25\r\n");
    CHECK_FALSE(h.use_connection);
    auto again = mta::proxy::parse_v1("PROXY TCP6 " + h.src_ip + " " + h.dst_ip + " " + std::to_string(h.src_port) +
                                      " " + std::to_string(h.dst_port) + "\r\n");
    CHECK(again.src_ip == h.src_ip);
    CHECK(again.dst_port == 25);
    CHECK_THROWS_AS(mta::proxy::parse_v1("PROXY TCP4 192.0.2.1 192.0.2.2 99999 25\r\n"), mta::Error);
    CHECK_THROWS_AS(mta::proxy::parse_v1("PROXY TCP4 192.0.2.1\n192.0.2.2 1 25\r\n"), mta::Error);
}

// fuzz/proxy_protocol: a v2 header whose source is an IPv4-mapped IPv6
// address (::ffff:0.0.0.1) names the client by its IPv4 address; the
// target expected the IPv6 text (the fault was in the target's property).
// Every spelling of a mapped address is unmapped alike.
TEST_CASE("found: a PROXY v2 IPv4-mapped source is the IPv4 client", "[hardening]") {
    const char wire[] = "\r\n\r\n\0\r\nQUIT\n"
                        "\x21\x21\x00\x24"
                        "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x00\x01"
                        "\x20\x01\x0d\xb8\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x02"
                        "\x00\xdc\x00\x19";
    auto h = mta::proxy::parse_v2(std::string_view(wire, sizeof wire - 1));
    CHECK(h.src_ip == "::ffff:0.0.0.1");
    CHECK(h.src_port == 220);
    mta::Peer p;
    mta::proxy::apply(h, p);
    CHECK(p.ip == "0.0.0.1");
    CHECK(p.local_ip == h.dst_ip);
    CHECK(mta::unmapped_ip("0:0:0:0:0:FFFF:192.0.2.1") == "192.0.2.1");
    CHECK(mta::unmapped_ip("::ffff:c000:201") == "192.0.2.1");
    CHECK(mta::unmapped_ip("2001:db8::1") == "2001:db8::1");
    CHECK(mta::unmapped_ip("192.0.2.1") == "192.0.2.1");
    CHECK(mta::unmapped_ip("not an address") == "not an address");
}

TEST_CASE("hardening: command lines with control characters are refused", "[hardening]") {
    CHECK_THROWS_AS(mta::smtp::parse_command(std::string_view("MAIL FROM:<a@b>\0x", 17)), mta::Error);
    CHECK_THROWS_AS(mta::smtp::parse_command("RCPT TO:<a@b>\rDATA"), mta::Error);
    CHECK(mta::smtp::parse_command("NOOP\tx").verb == mta::smtp::Verb::unknown);
}
