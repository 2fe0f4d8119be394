// mta-queue's library: retry schedule, DSN text, mailq format, grouping,
// stage programs.
#include "dsn.hpp"
#include "mailq_format.hpp"
#include "queue_runner.hpp"
#include "retry_schedule.hpp"
#include "stage_program.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>

using namespace mta;

namespace {

Envelope envelope(std::vector<std::string> rcpts, std::string sender = "alice@example.com") {
    Envelope e;
    e.id = QueueId::parse("1K0VPRXV27BWTSSBMH9");
    e.arrival = 1700000000;
    e.sender = sender.empty() ? Address::null() : Address::parse(sender, {});
    e.size = 1234;
    for (auto& r : rcpts) {
        Recipient x;
        x.address = Address::parse(r, {});
        e.recipients.push_back(x);
    }
    return e;
}

// A minimal MIME reader: the top-level headers, and each part's headers and body.
struct Part {
    std::string headers, body;
};
struct Parsed {
    std::string headers;
    std::vector<Part> parts;
};

Parsed parse_mime(const std::string& text) {
    Parsed p;
    auto hdr_end = text.find("\n\n");
    REQUIRE(hdr_end != std::string::npos);
    p.headers = text.substr(0, hdr_end + 1);
    std::string ct = header_value(p.headers, "Content-Type");
    auto b = ct.find("boundary=\"");
    REQUIRE(b != std::string::npos);
    std::string boundary = ct.substr(b + 10, ct.find('"', b + 10) - b - 10);
    std::string delim = "\n--" + boundary;
    size_t pos = text.find(delim, hdr_end);
    while (pos != std::string::npos) {
        size_t start = pos + delim.size();
        if (text.compare(start, 2, "--") == 0) break;
        start = text.find('\n', start) + 1;
        size_t next = text.find(delim, start);
        REQUIRE(next != std::string::npos);
        std::string part = text.substr(start, next - start);
        auto e = part.find("\n\n");
        Part x;
        x.headers = part.substr(0, e + 1);
        x.body = part.substr(e + 2);
        p.parts.push_back(x);
        pos = next;
    }
    return p;
}

// "Key: value" groups of a delivery-status body, split at blank lines.
std::vector<std::map<std::string, std::string>> status_groups(const std::string& body) {
    std::vector<std::map<std::string, std::string>> groups(1);
    size_t pos = 0;
    std::string last;
    while (pos < body.size()) {
        size_t nl = body.find('\n', pos);
        std::string line = body.substr(pos, nl - pos);
        pos = nl == std::string::npos ? body.size() : nl + 1;
        if (line.empty()) {
            if (!groups.back().empty()) groups.emplace_back();
            continue;
        }
        if (line[0] == '\t' || line[0] == ' ') {
            groups.back()[last] += " " + line.substr(1);
            continue;
        }
        auto c = line.find(": ");
        last = line.substr(0, c);
        groups.back()[last] = line.substr(c + 2);
    }
    if (groups.back().empty()) groups.pop_back();
    return groups;
}

// The plan for `count` copies of `proto`, and the sizes of its local runs
// (or of its remote ones), checking that those runs hold every message
// once, in order.
std::vector<size_t> run_sizes(const Envelope& proto, size_t count,
                              const std::function<const Route*(const Envelope&, const std::string&)>& route_of,
                              int limit, int spread,
                              bool local, DeliveryPlan* plan = nullptr) {
    std::vector<Envelope> envs(count, proto);
    std::vector<const Envelope*> ptrs;
    for (auto& e : envs) ptrs.push_back(&e);
    DeliveryPlan p = plan_deliveries(ptrs, route_of, limit, spread);
    std::vector<size_t> sizes;
    size_t next = 0;
    for (auto& j : p.jobs) {
        if (j.local != local) continue;
        sizes.push_back(j.parts.size());
        for (auto& part : j.parts) CHECK(part.first == next++);
    }
    CHECK(next == count);
    if (plan) *plan = std::move(p);
    return sizes;
}

}  // namespace

TEST_CASE("retry schedule: backoff doubles to the cap within RFC 5321 4.5.4.1", "[queue]") {
    RetrySchedule s;  // 5m doubling to 4h
    std::time_t arrival = 1000000;
    std::time_t now = arrival;
    std::vector<std::time_t> waits;
    for (int n = 1; n <= 10; ++n) {
        std::time_t next = s.next_attempt(arrival, now, n);
        waits.push_back(next - now);
        REQUIRE(next > now);
        now = next;
    }
    CHECK(waits[0] == 300);   // 5 min
    CHECK(waits[1] == 600);   // 10 min: two retries in the first hour
    CHECK(arrival + 3600 <= arrival + 900 + waits[2]);  // the third waits for the hour
    for (size_t i = 3; i < waits.size(); ++i) CHECK(waits[i] >= 30 * 60);
    CHECK(waits.back() == 4 * 3600);  // capped
    // Never more than two retries in the first hour, even with a tiny minimum.
    RetrySchedule fast;
    fast.min_backoff = 1;
    now = arrival;
    int in_first_hour = 0;
    for (int n = 1; n <= 8; ++n) {
        now = fast.next_attempt(arrival, now, n);
        if (now - arrival < 3600) ++in_first_hour;
    }
    CHECK(in_first_hour == 2);
}

TEST_CASE("retry schedule: lifetime, warnings, durations", "[queue]") {
    RetrySchedule s;
    CHECK_FALSE(s.expired(0, 5 * 86400 - 1));
    CHECK(s.expired(0, 5 * 86400));
    CHECK_FALSE(s.warning_due(0, 86400 * 4));  // off by default
    s.delay_warning = 4 * 3600;
    CHECK(s.warning_due(0, 4 * 3600));
    CHECK(parse_duration("300") == 300);
    CHECK(parse_duration("5m") == 300);
    CHECK(parse_duration("4h") == 14400);
    CHECK(parse_duration("5d") == 432000);
    CHECK(parse_duration("1d12h") == 129600);
    CHECK_THROWS_AS(parse_duration("5x"), Error);
    CHECK_THROWS_AS(parse_duration(""), Error);
    CHECK(format_duration(129600) == "1d12h");
    s.max_backoff = 10;
    CHECK_THROWS_AS(s.check(), Error);
}

TEST_CASE("notify: RFC 3461 NOTIFY decides which reports are sent", "[queue]") {
    CHECK(notify_wants("", DsnAction::failed));
    CHECK(notify_wants("", DsnAction::delayed));
    CHECK_FALSE(notify_wants("", DsnAction::delivered));
    CHECK_FALSE(notify_wants("NEVER", DsnAction::failed));
    CHECK(notify_wants("SUCCESS,FAILURE", DsnAction::delivered));
    CHECK(notify_wants("success,failure", DsnAction::failed));
    CHECK_FALSE(notify_wants("SUCCESS", DsnAction::failed));
    CHECK_FALSE(notify_wants("FAILURE", DsnAction::delayed));
    CHECK(notify_wants("DELAY", DsnAction::delayed));
}

TEST_CASE("dsn: a bounce parses back as multipart/report with the right fields", "[queue]") {
    Envelope e = envelope({"bob@example.org", "carol@example.net"});
    e.recipients[0].orcpt = "rfc822;Bob+2BTag@Example.org";
    e.envid = "ENV-42";
    std::string msg = "From: alice@example.com\nSubject: hello\nMessage-ID: <m1@example.com>\n\nbody line\n";
    DsnReport r;
    r.dsn_id = *QueueId::parse("1K0VPRY71QW2JFP3D9V");
    r.original = &e;
    r.message = msg;
    r.reporting_mta = "mx.example.com";
    r.now = 1700003600;
    DsnRecipient a;
    a.address = e.recipients[0].address;
    a.orcpt = e.recipients[0].orcpt;
    a.status = Status::permanent(550, "5.1.1", "no such user");
    a.remote = "mx.example.org[192.0.2.1]:25";
    a.last_attempt = r.now;
    DsnRecipient b;
    b.address = e.recipients[1].address;
    b.status = Status::permanent(554, "5.4.7", "delivery time expired");
    r.recipients = {a, b};
    DsnMessage d = make_dsn(r);
    CHECK_FALSE(d.eight_bit);
    Parsed p = parse_mime(d.text);
    CHECK(header_value(p.headers, "From") == "Mail Delivery System <MAILER-DAEMON@mx.example.com>");
    CHECK(header_value(p.headers, "To") == "<alice@example.com>");
    CHECK(header_value(p.headers, "Auto-Submitted") == "auto-replied");
    CHECK(header_value(p.headers, "In-Reply-To") == "<m1@example.com>");
    CHECK(header_value(p.headers, "Content-Type").starts_with("multipart/report; report-type=delivery-status;"));
    REQUIRE(p.parts.size() == 3);
    CHECK(header_value(p.parts[0].headers, "Content-Type").starts_with("text/plain"));
    CHECK(p.parts[0].body.find("<bob@example.org>: 550 5.1.1 no such user") != std::string::npos);
    CHECK(header_value(p.parts[1].headers, "Content-Type") == "message/delivery-status");
    auto g = status_groups(p.parts[1].body);
    REQUIRE(g.size() == 3);
    CHECK(g[0]["Reporting-MTA"] == "dns; mx.example.com");
    CHECK(g[0]["Original-Envelope-Id"] == "ENV-42");
    CHECK(g[0].count("Arrival-Date"));
    CHECK(g[1]["Final-Recipient"] == "rfc822; bob@example.org");
    CHECK(g[1]["Original-Recipient"] == "rfc822; Bob+Tag@Example.org");
    CHECK(g[1]["Action"] == "failed");
    CHECK(g[1]["Status"] == "5.1.1");
    CHECK(g[1]["Remote-MTA"] == "dns; mx.example.org");
    CHECK(g[1]["Diagnostic-Code"] == "smtp; 550 5.1.1 no such user");
    CHECK(g[2]["Final-Recipient"] == "rfc822; carol@example.net");
    CHECK(g[2].count("Original-Recipient") == 0);  // only when ORCPT was given
    CHECK(g[2].count("Remote-MTA") == 0);
    CHECK(g[2]["Status"] == "5.4.7");
    // No RET: a small message comes back whole.
    CHECK(header_value(p.parts[2].headers, "Content-Type") == "message/rfc822");
    CHECK(p.parts[2].body.find("body line") != std::string::npos);

    SECTION("RET=HDRS returns the headers only") {
        e.ret = "HDRS";
        Parsed h = parse_mime(make_dsn(r).text);
        REQUIRE(h.parts.size() == 3);
        CHECK(header_value(h.parts[2].headers, "Content-Type") == "text/rfc822-headers");
        CHECK(h.parts[2].body.find("Subject: hello") != std::string::npos);
        CHECK(h.parts[2].body.find("body line") == std::string::npos);
    }
    SECTION("without RET, a large message returns its headers only; RET=FULL returns it") {
        r.return_limit = 10;
        Parsed h = parse_mime(make_dsn(r).text);
        CHECK(header_value(h.parts[2].headers, "Content-Type") == "text/rfc822-headers");
        e.ret = "FULL";
        Parsed f = parse_mime(make_dsn(r).text);
        CHECK(header_value(f.parts[2].headers, "Content-Type") == "message/rfc822");
    }
    SECTION("a delay report") {
        r.recipients[0].action = DsnAction::delayed;
        r.recipients[0].status = Status::temporary(451, "4.4.1", "no answer");
        r.recipients.pop_back();
        r.will_retry_until = r.now + 86400;
        Parsed h = parse_mime(make_dsn(r).text);
        CHECK(header_value(h.headers, "Subject") == "Delayed Mail (still being retried)");
        auto gg = status_groups(h.parts[1].body);
        REQUIRE(gg.size() == 2);
        CHECK(gg[1]["Action"] == "delayed");
        CHECK(gg[1]["Status"] == "4.4.1");
        CHECK(gg[1].count("Will-Retry-Until"));
    }
}

TEST_CASE("header helpers and xtext", "[queue]") {
    std::string m = "Subject: a\n long\nMessage-Id: <x@y>\n\nbody\nMessage-ID: <not@header>\n";
    CHECK(header_block(m) == "Subject: a\n long\nMessage-Id: <x@y>\n");
    CHECK(header_value(header_block(m), "subject") == "a long");
    CHECK(header_value(header_block(m), "Message-ID") == "<x@y>");
    CHECK(xtext_decode("a+2Bb+3Dc") == "a+b=c");
}

TEST_CASE("mailq format: Postfix's columns, hold mark, reasons, trailer", "[queue]") {
    setenv("TZ", "UTC", 1);
    tzset();
    Envelope e = envelope({"bob@example.org", "carol@example.org", "dave@example.org"});
    e.recipients[0].last = "451 4.2.0 mailbox busy";
    e.recipients[1].state = RcptState::sent;
    e.recipients[2].last = "451 4.2.0 mailbox busy";
    std::string s = mailq_entry(e, false);
    CHECK(s ==
          "1K0VPRXV27BWTSSBMH9     1234 Tue Nov 14 22:13:20  alice@example.com\n" +
          std::string(52, ' ') + "(451 4.2.0 mailbox busy)\n"
          "                                         bob@example.org\n"
          "                                         dave@example.org\n"
          "\n");
    std::string h = mailq_entry(envelope({"x@y.example"}, ""), true);
    CHECK(h.starts_with("1K0VPRXV27BWTSSBMH9!"));
    CHECK(h.find("MAILER-DAEMON") != std::string::npos);
    CHECK(mailq_header() == "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
    CHECK(mailq_trailer(2048, 2) == "-- 2 Kbytes in 2 Requests.\n");
    CHECK(mailq_trailer(1, 1) == "-- 1 Kbytes in 1 Request.\n");
    CHECK(mailq_empty() == "Mail queue is empty\n");
    std::string j = mailq_json(e, false);
    CHECK(j.find("\"queue_name\":\"active\"") != std::string::npos);
    CHECK(j.find("{\"address\":\"bob@example.org\",\"delay_reason\":\"451 4.2.0 mailbox busy\"}") !=
          std::string::npos);
    CHECK(j.find("carol") == std::string::npos);  // delivered recipients are not listed
}

TEST_CASE("mailq format: a damaged file by its size and time, with the reason", "[queue]") {
    setenv("TZ", "UTC", 1);
    tzset();
    DamagedEntry d{"1K0VPRXV27BWTSSBMH9", true, 1734, 1700000000, "envelope: not an mta-envelope 1 file"};
    CHECK(mailq_damaged(d) == "1K0VPRXV27BWTSSBMH9!    1734 Tue Nov 14 22:13:20  (damaged)\n" + std::string(38, ' ') +
                                  "(envelope: not an mta-envelope 1 file)\n\n");
    CHECK(mailq_damaged_json(d) ==
          "{\"queue_name\":\"hold\",\"queue_id\":\"1K0VPRXV27BWTSSBMH9\",\"message_size\":1734,"
          "\"modified\":1700000000,\"damaged\":\"envelope: not an mta-envelope 1 file\"}");
    d.held = false;
    CHECK(mailq_damaged(d).starts_with("1K0VPRXV27BWTSSBMH9     1734"));
}

TEST_CASE("grouping: local and remote recipients by route across messages, batches", "[queue]") {
    std::map<std::string, Route> routes;
    routes["local.test"] = parse_route("domain=local.test kind=local");
    routes["a.test"] = parse_route("domain=a.test kind=mx host=mx.a.test/25/10/192.0.2.1");
    routes["b.test"] = parse_route("domain=b.test kind=relay host=smart.test/587/0/192.0.2.9");
    routes["c.test"] = parse_route("domain=c.test kind=relay host=smart.test/587/0/192.0.2.9");
    routes["nx.test"] = parse_route("domain=nx.test kind=error result=permanent code=550 enhanced=5.1.2 text=no");
    Envelope m1 = envelope({"u1@a.test", "u2@local.test", "u3@a.test", "u4@nx.test", "u5@b.test"});
    Envelope m2 = envelope({"v1@a.test", "v2@local.test", "v3@c.test"});
    Envelope m3 = envelope({"w1@a.test"});
    m2.recipients[1].state = RcptState::sent;  // done already
    auto route_of = [&](const Envelope&, const std::string& d) -> const Route* { return &routes.at(d); };
    DeliveryPlan p = plan_deliveries({&m1, &m2, &m3}, route_of, 2);
    REQUIRE(p.errors.size() == 1);
    CHECK(std::get<0>(p.errors[0]) == 0);
    CHECK(std::get<1>(p.errors[0]) == 3);
    size_t locals = 0;
    std::vector<const StageJob*> a_jobs;
    std::map<std::string, int> per_destination;
    for (auto& j : p.jobs) {
        per_destination[j.destination]++;
        if (j.local) {
            ++locals;
            CHECK(j.parts.size() == 1);
            CHECK(j.parts[0].first == 0);
            CHECK(j.parts[0].second == std::vector<size_t>{1});
        } else if (j.route->domain == "a.test") {
            a_jobs.push_back(&j);
        }
    }
    CHECK(locals == 1);
    // a.test: three messages, batches of two → two runs; m1 carries u1 and u3 together.
    REQUIRE(a_jobs.size() == 2);
    CHECK(a_jobs[0]->parts.size() == 2);
    CHECK(a_jobs[0]->parts[0].first == 0);
    CHECK(a_jobs[0]->parts[0].second == std::vector<size_t>{0, 2});
    CHECK(a_jobs[1]->parts.size() == 1);
    CHECK(a_jobs[1]->parts[0].first == 2);
    // b.test and c.test go through one relay: one destination for the limits.
    CHECK(per_destination["relay:smart.test:587"] == 2);
    CHECK(per_destination["a.test"] == 2);
}

TEST_CASE("grouping: one route's messages spread evenly over the destination's connections", "[queue]") {
    Route a = parse_route("domain=a.test kind=mx host=mx.a.test/25/10/192.0.2.1");
    auto route_of = [&](const Envelope&, const std::string&) -> const Route* { return &a; };
    auto plan = [&](size_t count, int limit, int spread) {
        return run_sizes(envelope({"u@a.test"}), count, route_of, limit, spread, false);
    };
    // 500 in runs of at most 50 over 4 connections: 12 runs, not 10 (4 + 4 + 2).
    auto s = plan(500, 50, 4);
    REQUIRE(s.size() == 12);
    for (size_t n : s) CHECK((n == 41 || n == 42));
    // What fits one run stays on one connection.
    CHECK(plan(6, 50, 4) == std::vector<size_t>{6});
    CHECK(plan(50, 50, 4) == std::vector<size_t>{50});
    s = plan(51, 50, 4);
    std::sort(s.begin(), s.end());
    CHECK(s == std::vector<size_t>{12, 13, 13, 13});
    s = plan(3, 1, 2);
    CHECK(s == std::vector<size_t>{1, 1, 1});  // never an empty run
    CHECK(plan(100, 50, 1) == std::vector<size_t>{50, 50});
    CHECK(plan(101, 50, 1) == std::vector<size_t>{34, 34, 33});
}

TEST_CASE("grouping: local deliveries spread over the lanes in runs of at least local_run_least", "[queue]") {
    Route local = parse_route("domain=local.test kind=local");
    Route a = parse_route("domain=a.test kind=mx host=mx.a.test/25/10/192.0.2.1");
    auto route_of = [&](const Envelope&, const std::string& d) -> const Route* { return d == "a.test" ? &a : &local; };
    auto plan = [&](size_t count, int limit, int spread, int local_limit) {
        std::vector<Envelope> envs(count, envelope({"u@local.test", "v@a.test", "w@local.test"}));
        std::vector<const Envelope*> ptrs;
        for (auto& e : envs) ptrs.push_back(&e);
        DeliveryPlan p = plan_deliveries(ptrs, route_of, limit, spread, local_limit);
        std::vector<size_t> local_sizes, remote_sizes;
        size_t next = 0;
        for (auto& j : p.jobs) {
            if (j.local) {
                CHECK(j.destination == "local");
                for (auto& part : j.parts) {
                    CHECK(part.first == next++);  // in order, none twice
                    CHECK(part.second == std::vector<size_t>{0, 2});  // both local recipients in one part
                }
            }
            (j.local ? local_sizes : remote_sizes).push_back(j.parts.size());
        }
        CHECK(next == count);
        return std::make_pair(local_sizes, remote_sizes);
    };
    const size_t least = local_run_least;
    using Sizes = std::vector<size_t>;
    CHECK(plan(1, 50, 4, 500).first == Sizes{1});
    // What fits one run and cannot give two runs `least` each: one run.
    CHECK(plan(6, 50, 4, 500).first == Sizes{6});
    CHECK(plan(2 * least - 1, 50, 4, 500).first == Sizes{2 * least - 1});
    CHECK(plan(2 * least, 50, 4, 500).first == Sizes{least, least});
    // Never more runs than lanes for what fits one run.
    CHECK(plan(5 * least, 50, 4, 1000).first.size() == 4);
    CHECK(plan(5 * least, 50, 1, 1000).first == Sizes{5 * least});
    // The remote recipients of the same messages keep batch_limit.
    CHECK(plan(6, 50, 4, 500).second == Sizes{6});
    CHECK(plan(300, 50, 4, 500).second.size() == 8);
    // Over the local limit: runs of at most that many, and no more of them
    // to fill the lanes evenly when that would take them under `least`.
    CHECK(plan(500, 50, 4, 50).first == Sizes(10, 50));
    // 2,000 in runs of up to 700: 3 would do, 4 fill the lanes and keep 500 each.
    CHECK(plan(2000, 50, 4, 700).first == Sizes(4, 500));
    // No local limit of its own: batch_limit.
    CHECK(plan(100, 50, 1, 0).first == Sizes{50, 50});
    // Over the local limit and spread, the runs still keep `least` each
    // where they can: 501 over 4 lanes is 3 runs, not 4 of 125.
    CHECK(plan(501, 50, 4, 500).first == Sizes{167, 167, 167});
    CHECK(plan(least + 1, 50, 1000, least).first.size() == 2);
}

TEST_CASE("stage programs: result lines, exits, signals, time limits", "[queue]") {
    StageRun r;
    r.argv = {"/bin/sh", "-c",
              "read x; printf 'noise\\nresult\\t-\\t%s\\tok\\t250\\t2.0.0\\tlocal\\tdone\\n' \"$x\"; exit 0"};
    r.input = "bob@example.org\n";
    StageExit e = run_stage(r);
    CHECK(e.exit_code == 0);
    auto lines = result_lines(e.out);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].recipient == "bob@example.org");
    CHECK(lines[0].status.is_ok());

    r.argv = {"/bin/sh", "-c", "echo oops >&2; kill -9 $$"};
    r.input.clear();
    e = run_stage(r);
    CHECK(e.signal == 9);
    Status s = missing_result(e, "mta-send");
    CHECK(s.outcome == Outcome::temporary);
    CHECK(s.text.find("signal 9") != std::string::npos);
    CHECK(s.text.find("oops") != std::string::npos);

    r.argv = {"/bin/sh", "-c", "sleep 30"};
    r.timeout = 1;
    e = run_stage(r);
    CHECK(e.timed_out);
    CHECK(e.seconds < 5);
    CHECK(missing_result(e, "mta-send").outcome == Outcome::temporary);

    r.argv = {"/nonexistent/mta-send"};
    e = run_stage(r);
    CHECK(e.not_started);
    CHECK(missing_result(e, "mta-send").outcome == Outcome::temporary);

    r.argv = {"/bin/sh", "-c", "exit 69"};
    r.timeout = 10;
    e = run_stage(r);
    CHECK(e.exit_code == 69);
    CHECK(result_lines(e.out).empty());
    CHECK(missing_result(e, "x").outcome == Outcome::temporary);  // no line: temporary, whatever the exit
}

TEST_CASE("parse_reply reads the envelope's last-reply field", "[queue]") {
    Status s = parse_reply("550 5.1.1 no such user", Outcome::permanent);
    CHECK(s.code == 550);
    CHECK(s.enhanced == "5.1.1");
    CHECK(s.text == "no such user");
    Status t = parse_reply("garbage", Outcome::temporary);
    CHECK(t.code == 451);
    CHECK(t.enhanced == "4.0.0");
}
