// mta-send: transfer messages to the next hop by SMTP (docs/contracts.md §4).
#include "batch_job.hpp"
#include "cli/command.hpp"
#include "clock.hpp"
#include "config.hpp"
#include "log.hpp"
#include "outgoing_message.hpp"
#include "queue_id.hpp"
#include "result_line.hpp"
#include "route.hpp"
#include "smtp_client.hpp"
#include "spool.hpp"
#include "status.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <csignal>
#include <iostream>
#include <unistd.h>

using namespace mta;

namespace {

struct Options {
    std::string route_line, host, sender, id, message_file, tls, auth, helo_name, ca_file, credentials;
    bool batch = false, json = false, verbose = false, auth_without_tls = false, sender_given = false;
    std::vector<std::string> rcpts;
    int recipient_limit = 100;
    int connect = 30, greeting = 300, helo = 300, tls_timeout = 300, mail = 300, rcpt = 300, data_init = 120,
        data_block = 180, data_done = 600;
};

// HOST[:PORT] with HOST a name, [address] or [IPv6:address].
Route route_for_host(const std::string& spec, const std::string& tls, const std::string& auth) {
    RouteHost h;
    std::string name = spec, port;
    if (!spec.empty() && spec[0] == '[') {
        auto close = spec.find(']');
        if (close == std::string::npos) throw Error::usage("--host: missing ] in " + spec);
        name = spec.substr(0, close + 1);
        if (close + 1 < spec.size()) {
            if (spec[close + 1] != ':') throw Error::usage("--host: bad port in " + spec);
            port = spec.substr(close + 2);
        }
    } else if (spec.find(':') != spec.rfind(':')) {
        throw Error::usage("--host: write an IPv6 address as [IPv6:address], not " + spec);
    } else if (auto colon = spec.rfind(':'); colon != std::string::npos) {
        name = spec.substr(0, colon);
        port = spec.substr(colon + 1);
    }
    if (name.empty() || name == "[]") throw Error::usage("--host: empty host name");
    if (!port.empty()) {
        unsigned p = 0;
        auto [e, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || e != port.data() + port.size() || p == 0 || p > 65535)
            throw Error::usage("--host: bad port " + port);
        h.port = std::uint16_t(p);
    }
    h.name = name;
    Route r;
    r.domain = name;
    r.kind = RouteKind::relay;
    r.tls = tls.empty() ? "may" : tls;
    r.auth = auth;
    r.hosts.push_back(h);
    return r;
}

// A message that cannot be sent: every recipient gets `s`.
OutgoingMessage failed_message(const std::string& id, const std::vector<std::string>& rcpts, const Status& s) {
    OutgoingMessage m;
    m.queue_id = id.empty() ? "-" : id;
    for (auto& r : rcpts) {
        OutgoingRecipient o;
        o.given = r.size() >= 2 && r.front() == '<' && r.back() == '>' ? r.substr(1, r.size() - 2) : r;
        o.error = s;
        m.recipients.push_back(std::move(o));
    }
    return m;
}

OutgoingMessage spooled(const Spool& spool, const std::string& id, const std::string& sender,
                        const std::vector<std::string>& rcpts) {
    try {
        return load_message(spool, id, sender, rcpts);
    } catch (const Error& e) {
        return failed_message(id, rcpts, e.status());
    }
}

double seconds_since_arrival(const std::string& id) {
    auto q = QueueId::parse(id);
    if (!q) return 0;
    double arrival = double(q->arrival_micros()) / 1e6;
    return std::max(0.0, double(clock::now()) - arrival);
}

}  // namespace

int main(int argc, char** argv) {
    // A peer that closes while OpenSSL writes must be an error, not a signal.
    std::signal(SIGPIPE, SIG_IGN);
    cli::Command app{"mta-send: transfer messages to the next hop by SMTP"};
    config::Common common;
    Options o;
    app.add_option("--route", o.route_line, "a route line from mta-route");
    app.add_option("--host", o.host, "HOST[:PORT]: send to this host (by hand)");
    app.add_option("-f,--sender", o.sender, "envelope sender (\"\" or <> for the null sender)");
    app.add_option("--id", o.id, "queue id of a spooled message");
    app.add_option("--message", o.message_file, "read the message from FILE instead of stdin");
    app.add_flag("--batch", o.batch, "several spooled messages over one connection: jobs on stdin");
    app.add_flag("--json", o.json, "print results as JSON lines");
    app.add_flag("-v,--verbose", o.verbose, "copy the SMTP dialogue to stderr (passwords masked)");
    app.add_option("--tls", o.tls, "TLS policy: none, may, encrypt, verify, dane (default: the route's)");
    app.add_option("--auth", o.auth, "credentials entry to log in with (with --host)");
    app.add_option("--helo-name", o.helo_name, "name to send in EHLO (default: hostname)");
    app.add_option("--tls-ca-file", o.ca_file, "PEM file of trusted CAs (default: the system's)");
    app.add_option("--credentials", o.credentials, "credentials file (default: <etc>/credentials)");
    app.add_flag("--auth-without-tls", o.auth_without_tls, "allow AUTH over a connection without TLS");
    app.add_option("--recipient-limit", o.recipient_limit, "recipients per transaction; more go in further ones")
        ->capture_default_str();
    app.add_option("--connect-timeout", o.connect, "seconds to wait for a connection")->capture_default_str();
    app.add_option("--greeting-timeout", o.greeting, "seconds to wait for the greeting")->capture_default_str();
    app.add_option("--helo-timeout", o.helo, "seconds to wait for EHLO, STARTTLS, AUTH replies")->capture_default_str();
    app.add_option("--tls-timeout", o.tls_timeout, "seconds for the TLS handshake")->capture_default_str();
    app.add_option("--mail-timeout", o.mail, "seconds to wait for the MAIL FROM reply")->capture_default_str();
    app.add_option("--rcpt-timeout", o.rcpt, "seconds to wait for each RCPT TO reply")->capture_default_str();
    app.add_option("--data-init-timeout", o.data_init, "seconds to wait for the DATA reply")->capture_default_str();
    app.add_option("--data-block-timeout", o.data_block, "seconds to send each block of content")->capture_default_str();
    app.add_option("--data-done-timeout", o.data_done, "seconds to wait for the reply to the final dot")
        ->capture_default_str();
    app.add_option("rcpt", o.rcpts, "recipients");
    config::attach(app, "mta-send", common);
    if (auto rc = app.parse_command_line(argc, argv)) return *rc;
    o.sender_given = app.count("--sender") > 0;

    try {
        config::finish(common);
        log::open("mta/smtp", common.log);
        if (o.route_line.empty() == o.host.empty()) throw Error::usage("give exactly one of --route and --host");
        if (!o.tls.empty()) parse_tls_policy(o.tls);
        for (int v : {o.connect, o.greeting, o.helo, o.tls_timeout, o.mail, o.rcpt, o.data_init, o.data_block, o.data_done})
            if (v <= 0) throw Error::usage("timeouts must be positive numbers of seconds");
        Route route = o.host.empty() ? parse_route(o.route_line) : route_for_host(o.host, o.tls, o.auth);
        if (!o.tls.empty()) route.tls = o.tls;
        if (!o.auth.empty()) route.auth = o.auth;

        SmtpClientConfig cfg;
        cfg.helo_name = o.helo_name.empty() ? common.hostname : o.helo_name;
        cfg.ca_file = o.ca_file;
        cfg.auth_without_tls = o.auth_without_tls;
        if (o.verbose) cfg.trace = stderr;
        if (o.recipient_limit <= 0) throw Error::usage("--recipient-limit must be positive");
        cfg.recipient_limit = size_t(o.recipient_limit);
        cfg.timeouts.connect = Seconds(o.connect);
        cfg.timeouts.greeting = Seconds(o.greeting);
        cfg.timeouts.helo = Seconds(o.helo);
        cfg.timeouts.tls = Seconds(o.tls_timeout);
        cfg.timeouts.mail = Seconds(o.mail);
        cfg.timeouts.rcpt = Seconds(o.rcpt);
        cfg.timeouts.data_init = Seconds(o.data_init);
        cfg.timeouts.data_block = Seconds(o.data_block);
        cfg.timeouts.data_done = Seconds(o.data_done);
        if (!route.auth.empty())
            cfg.credentials = load_credentials(o.credentials.empty() ? common.table("credentials") : o.credentials,
                                               route.auth);

        std::vector<OutgoingMessage> messages;
        if (o.batch) {
            check_batch_command_line(!o.rcpts.empty() || !o.id.empty() || o.sender_given || !o.message_file.empty());
            Spool spool(common.spool);
            for (auto& j : read_batch_jobs(std::cin, "mta-send"))
                messages.push_back(spooled(spool, j.id, j.sender, j.recipients));
        } else {
            if (o.rcpts.empty()) throw Error::usage("no recipients");
            if (!o.sender_given) throw Error::usage("no sender: give -f SENDER (-f '' for the null sender)");
            if (!o.id.empty()) {
                if (!o.message_file.empty()) throw Error::usage("give --id or --message, not both");
                messages.push_back(spooled(Spool(common.spool), o.id, o.sender, o.rcpts));
            } else {
                std::string content;
                if (!o.message_file.empty()) {
                    int fd = ::open(o.message_file.c_str(), O_RDONLY | O_CLOEXEC);
                    if (fd < 0)
                        throw Error(Status::permanent(554, "5.3.0", "cannot open " + o.message_file + ": " +
                                                                        std::strerror(errno)),
                                    ex::noinput);
                    content = read_message(fd, o.message_file);
                    ::close(fd);
                } else {
                    content = read_message(0, "standard input");
                }
                messages.push_back(make_message(std::move(content), o.sender, o.rcpts));
            }
        }

        auto started = std::chrono::steady_clock::now();
        SendReport rep = send_route(route, messages, cfg);
        double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

        int exit_code = ex::ok;
        bool any_temp = false;
        std::string out;
        for (size_t i = 0; i < messages.size(); ++i) {
            const auto& m = messages[i];
            for (size_t r = 0; r < m.recipients.size(); ++r) {
                const RecipientResult& res = rep.results[i][r];
                ResultLine line{m.queue_id, m.recipients[r].given, res.status, res.host};
                out += (o.json ? line.json() : line.str()) + "\n";
                if (res.status.outcome == Outcome::temporary) any_temp = true;
                if (res.status.outcome == Outcome::permanent && exit_code == ex::ok)
                    exit_code = exit_code_for(Outcome::permanent, res.status.enhanced);
                log::Delivery d;
                d.queue_id = m.queue_id == "-" ? "NOQUEUE" : m.queue_id;
                d.to = m.recipients[r].given;
                d.relay = res.host == "-" ? "none" : res.host;
                d.delay = std::max(took, seconds_since_arrival(m.queue_id));
                d.delays[3] = took;
                d.dsn = res.status.enhanced;
                d.status = res.status.outcome == Outcome::ok          ? "sent"
                           : res.status.outcome == Outcome::temporary ? "deferred"
                                                                      : "bounced";
                d.text = res.status.reply();
                log::delivery(d);
            }
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
        if (std::fflush(stdout) != 0) return ex::ioerr;
        if (exit_code == ex::ok && any_temp) exit_code = ex::tempfail;
        return exit_code;
    } catch (const Error& e) {
        std::cerr << "mta-send: " << e.what() << "\n";
        return e.exit_code();
    } catch (const std::exception& e) {
        std::cerr << "mta-send: " << e.what() << "\n";
        return ex::tempfail;
    }
}
