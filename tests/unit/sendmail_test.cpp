#include "local_submission.hpp"
#include "message_header.hpp"
#include "sendmail_options.hpp"
#include "status.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace mta;
using sendmail::Mode;
using sendmail::parse_options;

namespace {

sendmail::Options parse(std::vector<std::string> args, std::string argv0 = "/usr/sbin/sendmail") {
    return parse_options(argv0, args);
}

int usage_exit(std::vector<std::string> args) {
    try {
        parse(args);
    } catch (const Error& e) {
        return e.exit_code();
    }
    return 0;
}

std::string usage_text(std::vector<std::string> args) {
    try {
        parse(args);
    } catch (const Error& e) {
        return e.status().text;
    }
    return "";
}

std::vector<std::string> strs(const std::vector<Address>& v) {
    std::vector<std::string> out;
    for (auto& a : v) out.push_back(a.str());
    return out;
}

std::vector<std::string> addrs(std::string_view list) {
    std::vector<std::string> out;
    for (auto& m : parse_address_list(list)) out.push_back(m.address);
    return out;
}

// A scratch directory removed at the end of the test.
struct Scratch {
    std::string dir;
    Scratch() {
        char t[] = "/tmp/sendmail-test.XXXXXX";
        dir = ::mkdtemp(t);
    }
    ~Scratch() { std::filesystem::remove_all(dir); }
};

LocalUser alice() {
    LocalUser u;
    u.uid = 1000;
    u.login = "alice";
    u.hostname = "mx.example.test";
    u.mailname = "example.test";
    return u;
}

// Runs submit() on input and returns the queued content.
std::string submitted(const sendmail::Options& o, std::string_view input, std::optional<Submitted>* out = nullptr) {
    Scratch s;
    std::string in = s.dir + "/input";
    std::ofstream(in, std::ios::binary) << input;
    Spool spool(s.dir + "/spool");
    spool.create();
    int fd = ::open(in.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    Submitted m = submit(o, alice(), spool, fd);
    ::close(fd);
    if (out) out->emplace(m);
    auto e = spool.load(m.id);
    REQUIRE(e);
    CHECK(e->recipients.size() == m.envelope.recipients.size());
    return spool.content(m.id);
}

// The content without the first (Received) field, which has a date and an id.
std::string after_received(const std::string& msg) {
    REQUIRE(msg.rfind("Received: by mx.example.test (mta, from userid 1000)\n\tid ", 0) == 0);
    auto end = msg.find('\n', msg.find('\n') + 1);
    return msg.substr(end + 1);
}

}  // namespace

// ---- the command lines of real callers (conventions.md 1.1) ----

TEST_CASE("cron: -FCronDaemon -i -B8BITMIME -oem rcpt", "[sendmail][options]") {
    auto o = parse({"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"});
    CHECK(o.mode == Mode::submit);
    CHECK(o.full_name == "CronDaemon");
    CHECK(o.ignore_dots);
    CHECK(o.body == "8BITMIME");
    CHECK(o.recipients == std::vector<std::string>{"root"});
    CHECK(o.ignored == std::vector<std::string>{"-oem"});
    CHECK(!o.extract_recipients);
    CHECK(!o.sender);
}

TEST_CASE("mutt: -oem -oi -- rcpt, with -f, -B, -N, -R, -V", "[sendmail][options]") {
    auto o = parse({"-oem", "-oi", "-f", "me@example.org", "-B8BITMIME", "-N", "failure,delay", "-R", "hdrs", "-V",
                    "env42", "--", "bob@example.org", "-dash@example.org"});
    CHECK(o.ignore_dots);
    CHECK(o.sender == "me@example.org");
    CHECK(o.notify == "FAILURE,DELAY");
    CHECK(o.ret == "HDRS");
    CHECK(o.envid == "env42");
    CHECK(o.recipients == std::vector<std::string>{"bob@example.org", "-dash@example.org"});
}

TEST_CASE("git send-email: -i -f a rcpt", "[sendmail][options]") {
    auto o = parse({"-i", "-f", "dev@example.org", "list@example.org", "maint@example.org"});
    CHECK(o.ignore_dots);
    CHECK(o.sender == "dev@example.org");
    CHECK(o.recipients.size() == 2);
}

TEST_CASE("PHP -t -i, logwatch -t, scripts -oi -t", "[sendmail][options]") {
    auto php = parse({"-t", "-i", "-f", "www@example.org"});
    CHECK(php.extract_recipients);
    CHECK(php.ignore_dots);
    CHECK(php.recipients.empty());
    auto logwatch = parse({"-t"});
    CHECK(logwatch.extract_recipients);
    CHECK(!logwatch.ignore_dots);
    auto script = parse({"-oi", "-t", "-oem"});
    CHECK(script.extract_recipients);
    CHECK(script.ignore_dots);
    auto grouped = parse({"-ti"});
    CHECK(grouped.extract_recipients);
    CHECK(grouped.ignore_dots);
}

TEST_CASE("alpine: -bs -odb -oem", "[sendmail][options]") {
    auto o = parse({"-bs", "-odb", "-oem"});
    CHECK(o.mode == Mode::smtp);
    CHECK(o.ignored == std::vector<std::string>{"-odb", "-oem"});
    CHECK(usage_exit({"-bs", "bob@example.org"}) == ex::usage);
}

TEST_CASE("the null sender: -f '' and -f <>, attached and separate", "[sendmail][options]") {
    CHECK(parse({"-f", "", "a@b.example"}).sender == "");
    CHECK(parse({"-f", "<>", "a@b.example"}).sender == "<>");
    CHECK(parse({"-f<>", "a@b.example"}).sender == "<>");
    CHECK(parse({"-r", "x@y.example", "a@b.example"}).sender == "x@y.example");
    CHECK(parse({"-rx@y.example", "a@b.example"}).sender == "x@y.example");
    sendmail::Options o;
    o.sender = "";
    CHECK(envelope_sender(o, alice()).is_null());
    o.sender = "<>";
    CHECK(envelope_sender(o, alice()).is_null());
    o.sender = "bounce";
    CHECK(envelope_sender(o, alice()).str() == "bounce@example.test");
    o.sender.reset();
    CHECK(envelope_sender(o, alice()).str() == "alice@example.test");
    o.sender = "a b@c";
    CHECK_THROWS_AS(envelope_sender(o, alice()), Error);
}

TEST_CASE("every historical flag is accepted", "[sendmail][options]") {
    auto o = parse({"-bm", "-v", "-m", "-n", "-U", "-G", "-x", "-E", "-J", "-c", "-s", "-Ac", "-Am", "-C", "/dev/null",
                    "-d0.1", "-D", "log", "-ep", "-h", "17", "-LTAG", "-M", "Xv", "-pSMTP", "-Q", "q", "-X", "log",
                    "-O", "DeliveryMode=b", "-oQ/var/spool", "-o", "i", "-odq", "-oeq", "a@b.example"});
    CHECK(o.mode == Mode::submit);
    CHECK(o.verbose);
    CHECK(o.ignore_dots);
    CHECK(o.config == "/dev/null");
    CHECK(o.recipients == std::vector<std::string>{"a@b.example"});
    CHECK(parse({"-oitrue", "x"}).ignore_dots);
    CHECK(!parse({"-oi", "-oifalse", "x"}).ignore_dots);
    CHECK(parse({"-O", "IgnoreDots=true", "x"}).ignore_dots);
    CHECK(parse({"-oA/etc/aliases", "-bi"}).alias_file == "/etc/aliases");
    CHECK(parse({"-q"}).mode == Mode::run_queue);
    auto q = parse({"-q30m"});
    CHECK(q.mode == Mode::run_queue);
    CHECK(q.queue_arg == "30m");
    CHECK(parse({"-qIabc"}).queue_arg == "Iabc");
    CHECK(parse({"-bp"}).mode == Mode::list);
    CHECK(parse({"-bi"}).mode == Mode::aliases);
    CHECK(parse({"-I"}).mode == Mode::aliases);
    CHECK(parse({"-bv", "a@b.example"}).mode == Mode::verify);
    CHECK(parse({"-B", "7bit", "x"}).body == "7BIT");
    CHECK(parse({"-N", "never", "x"}).notify == "NEVER");
    CHECK(parse({"-Nsuccess", "x"}).notify == "SUCCESS");
    CHECK(parse({"-R", "FULL", "x"}).ret == "FULL");
    // Options after addresses, as GNU getopt allows.
    auto late = parse({"a@b.example", "-f", "s@b.example"});
    CHECK(late.sender == "s@b.example");
    CHECK(late.recipients == std::vector<std::string>{"a@b.example"});
}

TEST_CASE("unknown flags and bad values are usage errors with one clear line", "[sendmail][options]") {
    CHECK(usage_exit({"-K", "x"}) == ex::usage);
    CHECK(usage_text({"-K", "x"}).find("unknown option -K") != std::string::npos);
    CHECK(usage_exit({"-tK"}) == ex::usage);
    CHECK(usage_exit({"-f"}) == ex::usage);
    CHECK(usage_text({"-f"}).find("-f needs an argument") != std::string::npos);
    CHECK(usage_exit({"-B", "BINARYMIME", "x"}) == ex::usage);
    CHECK(usage_exit({"-N", "sometimes", "x"}) == ex::usage);
    CHECK(usage_exit({"-N", "never,success", "x"}) == ex::usage);
    CHECK(usage_exit({"-R", "all", "x"}) == ex::usage);
    CHECK(usage_exit({"-V", "has space", "x"}) == ex::usage);
    CHECK(usage_exit({"-bd"}) == ex::usage);
    CHECK(usage_exit({"-bz"}) == ex::usage);
    CHECK(usage_exit({"-oimaybe", "x"}) == ex::usage);
    CHECK(usage_exit({"-", "x"}) == ex::usage);
    CHECK(usage_exit({"-bp", "x@y.example"}) == ex::usage);
}

TEST_CASE("the program name picks the mode", "[sendmail][options]") {
    CHECK(parse({}, "/usr/bin/mailq").mode == Mode::list);
    CHECK(parse({}, "newaliases").mode == Mode::aliases);
    CHECK(parse({}, "/usr/lib/sendmail").mode == Mode::submit);
    CHECK(parse({"-bp"}, "sendmail").mode == Mode::list);
    CHECK_THROWS_AS(parse({"bob"}, "mailq"), Error);
}

// ---- the header block ----

TEST_CASE("header fields: unfolding, lookup, removal", "[sendmail][header]") {
    auto h = MessageHeader::parse("Subject: a long\n  subject\nTO: x@y.example\nX-Empty:\nto: z@y.example\n");
    REQUIRE(h.fields().size() == 4);
    CHECK(h.values("Subject") == std::vector<std::string>{"a long  subject"});
    CHECK(h.values("To") == std::vector<std::string>{"x@y.example", "z@y.example"});
    CHECK(h.values("x-empty") == std::vector<std::string>{""});
    CHECK(h.remove("to") == 2);
    CHECK(h.str() == "Subject: a long\n  subject\nX-Empty:\n");
    CHECK(unfold("a\r\n b\n\tc\nd") == "a b\tc\nd");
    CHECK(MessageHeader::is_field_start("X-A: b"));
    CHECK(!MessageHeader::is_field_start("From nobody Mon"));
    CHECK(!MessageHeader::is_field_start(": x"));
    CHECK(!MessageHeader::is_field_start("no colon"));
    CHECK_THROWS_AS(MessageHeader::parse("not a field\n"), Error);
}

TEST_CASE("address lists: display names, groups, comments, quoting", "[sendmail][header]") {
    CHECK(addrs("a@b.example") == std::vector<std::string>{"a@b.example"});
    CHECK(addrs("Bob <bob@x.example>, \"Smith, Carol\" <carol@x.example>") ==
          std::vector<std::string>{"bob@x.example", "carol@x.example"});
    CHECK(addrs("bob@x.example (Bob (the builder)), , carol@x.example") ==
          std::vector<std::string>{"bob@x.example", "carol@x.example"});
    CHECK(addrs("friends: a@x.example, B <b@x.example>;, c@x.example") ==
          std::vector<std::string>{"a@x.example", "b@x.example", "c@x.example"});
    CHECK(addrs("undisclosed-recipients:;").empty());
    CHECK(addrs("\"john doe\"@x.example") == std::vector<std::string>{"\"john doe\"@x.example"});
    CHECK(addrs("<@relay.example,@r2.example:joe@x.example>") == std::vector<std::string>{"joe@x.example"});
    CHECK(addrs("joe@[192.0.2.1]") == std::vector<std::string>{"joe@[192.0.2.1]"});
    CHECK(addrs("root") == std::vector<std::string>{"root"});
    CHECK(addrs("John Q. Public <jqp@x.example>") == std::vector<std::string>{"jqp@x.example"});
    CHECK(addrs("a@x.example,\n\tb@x.example") == std::vector<std::string>{"a@x.example", "b@x.example"});
    auto m = parse_address_list("\"Smith, Carol\" <carol@x.example>");
    CHECK(m.at(0).display_name == "Smith, Carol");
    CHECK_THROWS_AS(parse_address_list("a@x.example b@x.example"), Error);
    CHECK_THROWS_AS(parse_address_list("Bob <bob@x.example"), Error);
    CHECK_THROWS_AS(parse_address_list("\"unterminated@x.example"), Error);
    CHECK_THROWS_AS(parse_address_list("(open comment a@x.example"), Error);
    CHECK_THROWS_AS(parse_address_list("a@"), Error);
}

TEST_CASE("-t takes To, Cc and Bcc, or the Resent- fields when present", "[sendmail][header]") {
    auto h = MessageHeader::parse("To: a@x.example, root\nCc: B <b@x.example>\nBcc: c@x.example\nSubject: s\n");
    CHECK(strs(header_recipients(h, "example.test")) ==
          std::vector<std::string>{"a@x.example", "root@example.test", "b@x.example", "c@x.example"});
    auto r = MessageHeader::parse("To: a@x.example\nResent-To: r@x.example\nResent-Bcc: s@x.example\n");
    CHECK(strs(header_recipients(r, "example.test")) == std::vector<std::string>{"r@x.example", "s@x.example"});
    CHECK(strs(parse_addresses("a@x.example, a@x.example, A@X.EXAMPLE", "example.test")) ==
          std::vector<std::string>{"a@x.example", "A@x.example"});
}

TEST_CASE("display names for a generated From", "[sendmail][header]") {
    CHECK(encode_phrase("CronDaemon") == "CronDaemon");
    CHECK(encode_phrase("Alice Smith") == "Alice Smith");
    CHECK(encode_phrase("Smith, Alice") == "\"Smith, Alice\"");
    CHECK(encode_phrase("say \"hi\"") == "\"say \\\"hi\\\"\"");
    CHECK(encode_phrase("J\xc3\xb6rg") == "=?UTF-8?B?SsO2cmc=?=");
}

// ---- submission into a spool ----

TEST_CASE("submit: header fix-ups, Bcc and Return-Path removed, body byte for byte", "[sendmail][submit]") {
    auto o = parse({"-t", "-FCron Daemon", "extra@x.example"});
    std::optional<Submitted> m;
    std::string msg = submitted(o,
                                "From root  Mon Jan  1 00:00:00 2024\n"
                                "Return-Path: <forged@x.example>\n"
                                "To: a@x.example\n"
                                "Bcc: secret@x.example\n"
                                "Subject: test\n"
                                "\n"
                                "..not unstuffed\n"
                                "last line without newline",
                                &m);
    std::string rest = after_received(msg);
    CHECK(rest.rfind("To: a@x.example\nSubject: test\nFrom: Cron Daemon <alice@example.test>\nDate: ", 0) == 0);
    CHECK(rest.find("\nMessage-ID: <" + m->id.str() + "@mx.example.test>\n\n..not unstuffed\nlast line without newline\n") !=
          std::string::npos);
    CHECK(msg.find("secret") == std::string::npos);
    CHECK(msg.find("Return-Path") == std::string::npos);
    CHECK(msg.find("From root") == std::string::npos);
    CHECK(strs([&] {
              std::vector<Address> v;
              for (auto& r : m->envelope.recipients) v.push_back(r.address);
              return v;
          }()) == std::vector<std::string>{"extra@x.example", "a@x.example", "secret@x.example"});
    CHECK(m->envelope.sender.str() == "alice@example.test");
    CHECK(m->message_id == "<" + m->id.str() + "@mx.example.test>");
}

TEST_CASE("submit: a lone dot ends the input unless -i; CRLF becomes LF", "[sendmail][submit]") {
    std::string input = "Subject: dots\r\nMessage-ID: <given@x.example>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                        "From: me@x.example\r\n\r\nline\r\n.\r\nafter the dot\r\nbare\rCR\n";
    std::optional<Submitted> m;
    std::string without = after_received(submitted(parse({"bob@x.example"}), input, &m));
    CHECK(without == "Subject: dots\nMessage-ID: <given@x.example>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
                     "From: me@x.example\n\nline\n");
    CHECK(m->message_id == "<given@x.example>");
    std::string with = after_received(submitted(parse({"-oi", "bob@x.example"}), input));
    CHECK(with == "Subject: dots\nMessage-ID: <given@x.example>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
                  "From: me@x.example\n\nline\n.\nafter the dot\nbare\rCR\n");
    // A dot in the header block ends the input too.
    std::string hdr = after_received(submitted(parse({"bob@x.example"}), "Subject: s\n.\nX: y\n"));
    CHECK(hdr.rfind("Subject: s\nFrom: alice@example.test\nDate: ", 0) == 0);
    CHECK(hdr.find("X: y") == std::string::npos);
}

TEST_CASE("submit: a body without a blank line, an empty message, DSN flags", "[sendmail][submit]") {
    std::optional<Submitted> m;
    auto o = parse({"-N", "success,failure", "-R", "hdrs", "-V", "id1", "-B", "8BITMIME", "-f", "", "bob@x.example"});
    std::string msg = after_received(submitted(o, "Subject: s\nthis is body text\n", &m));
    CHECK(msg.find("\n\nthis is body text\n") != std::string::npos);
    CHECK(msg.find("From: alice@example.test\n") != std::string::npos);
    CHECK(m->envelope.sender.is_null());
    CHECK(m->envelope.ret == "HDRS");
    CHECK(m->envelope.envid == "id1");
    CHECK(m->envelope.body == "8BITMIME");
    CHECK(m->envelope.recipients.at(0).notify == "SUCCESS,FAILURE");
    std::string empty = after_received(submitted(parse({"bob@x.example"}), ""));
    CHECK(empty.rfind("From: alice@example.test\nDate: ", 0) == 0);
    CHECK(empty.size() > 2);
    CHECK(empty.substr(empty.size() - 3) == ">\n\n");
}

TEST_CASE("submit: lines longer than the read buffer, CRLF across a cut", "[sendmail][submit]") {
    std::string longline(200 * 1024, 'x');
    // 65535 x then CRLF: the cut must not separate CR from LF.
    std::string edge(65535, 'y');
    // 65536 + 65535 w then CRLF: the CR falls on the last byte of the second cut.
    std::string edge2(65536 + 65535, 'w');
    std::string input = "Subject: long\r\n\r\n" + longline + "\r\n" + edge + "\r\n" + longline + "\r\n" + edge2 +
                        "\r\n.\r\nafter\r\n";
    std::string msg = after_received(submitted(parse({"bob@x.example"}), input));
    auto body = msg.substr(msg.find("\n\n") + 2);
    CHECK(body == longline + "\n" + edge + "\n" + longline + "\n" + edge2 + "\n");
    // A line that looks like a lone dot only after a cut is not one.
    std::string dotted = "Subject: d\n\n" + std::string(65536, 'z') + ".\nend\n";
    std::string kept = after_received(submitted(parse({"bob@x.example"}), dotted));
    CHECK(kept.substr(kept.size() - 7) == "z.\nend\n");
    try {
        submitted(parse({"bob@x.example"}), "Subject: " + longline + "\n\nx\n");
        FAIL("a 200 KiB header line was accepted");
    } catch (const Error& e) {
        CHECK(e.exit_code() == ex::dataerr);
    }
}

TEST_CASE("submit: 8-bit content and UTF-8 addresses are declared in the envelope", "[sendmail][submit]") {
    std::optional<Submitted> m;
    submitted(parse({"bob@x.example"}), "Subject: s\n\nplain\n", &m);
    CHECK(m->envelope.body == "");
    CHECK(!m->envelope.smtputf8);
    submitted(parse({"bob@x.example"}), "Subject: s\n\nJ\xc3\xb6rg\n", &m);
    CHECK(m->envelope.body == "8BITMIME");
    submitted(parse({"-B7BIT", "bob@x.example"}), "Subject: s\n\nJ\xc3\xb6rg\n", &m);
    CHECK(m->envelope.body == "7BIT");
    submitted(parse({"j\xc3\xb6rg@x.example"}), "Subject: s\n\nx\n", &m);
    CHECK(m->envelope.smtputf8);
}

TEST_CASE("submit: no recipients, bad addresses", "[sendmail][submit]") {
    auto code = [](std::vector<std::string> args, std::string input) {
        try {
            submitted(parse(args), input);
        } catch (const Error& e) {
            return e.exit_code();
        }
        return 0;
    };
    CHECK(code({}, "Subject: x\n\nbody\n") == ex::usage);
    CHECK(code({"-t"}, "Subject: x\n\nbody\n") == ex::usage);
    CHECK(code({"-t"}, "To: a@x.example b@x.example\n\nbody\n") == ex::dataerr);
    CHECK(code({"bad address@@x"}, "\n") == ex::dataerr);
    CHECK(code({"-t"}, "To: undisclosed-recipients:;\n\n") == ex::usage);
}
