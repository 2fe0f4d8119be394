#include "smtp_session.hpp"

#include "ascii.hpp"
#include "base64.hpp"
#include "log.hpp"
#include "received_header.hpp"

#include <algorithm>

namespace mta::smtp {

Session::Session(SessionConfig cfg, Peer peer, Backend& backend)
    : cfg_(std::move(cfg)), peer_(std::move(peer)), backend_(backend) {}

// ---- output ----

void Session::reply(int code, std::string_view enhanced, std::string_view text) {
    out_ += std::to_string(code);
    out_ += ' ';
    if (!enhanced.empty()) {
        out_ += enhanced;
        out_ += ' ';
    }
    out_ += text;
    out_ += "\r\n";
    if (code >= 400 && code != 421 && !closed_) {
        if (++errors_ >= cfg_.max_errors) {
            close_with("421 4.7.0 " + cfg_.hostname + " Error: too many errors");
            log::info("too many errors from {}", peer_.namaddr());
        }
    }
}

void Session::reply(const Status& s) { reply(s.code, s.enhanced, s.text); }

void Session::reply_multi(int code, const std::vector<std::string>& lines) {
    for (size_t i = 0; i < lines.size(); ++i) out_ += std::to_string(code) + (i + 1 < lines.size() ? "-" : " ") + lines[i] + "\r\n";
}

std::string Session::take_output() { return std::exchange(out_, std::string()); }

void Session::close_with(const std::string& line) {
    out_ += line + "\r\n";
    if (queue_id_) backend_.abort();
    queue_id_.reset();
    closed_ = true;
    in_.clear();
}

void Session::count(std::string_view verb) {
    std::string v = ascii::lower(verb);
    for (auto& [name, n] : counts_)
        if (name == v) {
            ++n;
            return;
        }
    counts_.emplace_back(v, 1);
}

std::string Session::counters() const {
    std::string s;
    int total = 0;
    for (auto& [name, n] : counts_) {
        s += name + "=" + std::to_string(n) + " ";
        total += n;
    }
    return s + "commands=" + std::to_string(total);
}

// ---- lifecycle ----

void Session::start() {
    reply(220, "", cfg_.hostname + " ESMTP mta");
}

void Session::timeout() {
    if (closed_) return;
    log::info("timeout after {} from {}", in_data() ? "DATA" : "command", peer_.namaddr());
    close_with("421 4.4.2 " + cfg_.hostname + " Error: timeout exceeded");
}

void Session::lost_connection() {
    if (queue_id_) backend_.abort();
    queue_id_.reset();
    closed_ = true;
}

void Session::tls_started(std::string tls_info) {
    tls_pending_ = false;
    cfg_.tls_active = true;
    cfg_.tls_info = std::move(tls_info);
    // RFC 3207 4.2: forget everything learned before the handshake.
    helo_.clear();
    esmtp_ = false;
    auth_user_.clear();
    reset_transaction();
    in_.clear();
    mode_ = Mode::command;
}

void Session::reset_transaction() {
    if (queue_id_) backend_.abort();
    queue_id_.reset();
    have_mail_ = false;
    env_ = Envelope();
    reader_.reset();
    store_error_.reset();
    bdat_left_ = 0;
    bdat_last_ = false;
}

// ---- input ----

void Session::feed(std::string_view bytes) {
    if (closed_ || tls_pending_) return;
    in_.append(bytes);
    size_t pos = 0;
    while (!closed_ && !tls_pending_ && pos < in_.size()) {
        std::string_view rest(in_.data() + pos, in_.size() - pos);
        if (mode_ == Mode::data) {
            chunk_.clear();  // reused: no allocation per read
            size_t used = reader_->feed(rest, chunk_);
            pos += used;
            content(chunk_);
            if (reader_->done()) finish_message();
            continue;
        }
        if (mode_ == Mode::bdat) {
            size_t n = size_t(std::min<std::uint64_t>(bdat_left_, rest.size()));
            if (reader_) {
                chunk_.clear();
                reader_->feed(rest.substr(0, n), chunk_);
                content(chunk_);
            }
            pos += n;
            bdat_left_ -= n;
            if (bdat_left_ == 0) {
                mode_ = Mode::command;
                if (!reader_) {
                    if (!bdat_failed_) reply(503, "5.5.1", "Error: BDAT without a transaction");
                    bdat_failed_ = false;
                } else if (bdat_last_) {
                    std::string chunk;
                    reader_->finish(chunk);
                    content(chunk);
                    finish_message();
                } else if (auto st = reader_->status()) {
                    reply(*st);
                    reset_transaction();
                } else if (store_error_) {
                    reply(*store_error_);
                    reset_transaction();
                } else {
                    reply(250, "2.0.0", "Ok: " + std::to_string(bdat_size_) + " octets received");
                }
            }
            continue;
        }
        // A line: commands, or an AUTH continuation.
        auto lf = rest.find('\n');
        if (lf == std::string_view::npos) {
            if (rest.size() >= cfg_.max_command) {
                if (!discarding_) reply(500, "5.5.2", "Error: command line too long");
                discarding_ = true;
                pos = in_.size();
            }
            break;
        }
        std::string_view line = rest.substr(0, lf);
        pos += lf + 1;
        if (discarding_) {
            discarding_ = false;
            continue;
        }
        if (line.size() + 1 > cfg_.max_command) {
            reply(500, "5.5.2", "Error: command line too long");
            continue;
        }
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        } else if (!cfg_.local) {
            reply(500, "5.5.2", "Error: bare LF in command; lines must end with CRLF");
            continue;
        }
        if (mode_ == Mode::auth) auth_step(line);
        else command_line(line);
    }
    if (tls_pending_ || closed_) in_.clear();
    else in_.erase(0, pos);
}

void Session::command_line(std::string_view line) {
    Command cmd;
    try {
        cmd = parse_command(line);
    } catch (const Error& e) {
        count("unknown");
        reply(e.status());
        return;
    }
    count(cmd.verb == Verb::unknown ? "unknown" : cmd.name);
    try {
        dispatch(cmd);
    } catch (const Error& e) {
        reply(e.status());
    }
}

void Session::dispatch(const Command& c) {
    switch (c.verb) {
    case Verb::helo: return do_helo(c, false);
    case Verb::ehlo: return do_helo(c, true);
    case Verb::mail: return do_mail(c);
    case Verb::rcpt: return do_rcpt(c);
    case Verb::data: return do_data(c);
    case Verb::bdat: return do_bdat(c);
    case Verb::auth: return do_auth(c);
    case Verb::starttls: return do_starttls(c);
    case Verb::rset:
        if (!c.arg.empty()) return reply(501, "5.5.4", "Syntax: RSET");
        reset_transaction();
        return reply(250, "2.0.0", "Ok");
    case Verb::noop: return reply(250, "2.0.0", "Ok");
    case Verb::quit:
        reply(221, "2.0.0", "Bye");
        reset_transaction();
        closed_ = true;
        return;
    case Verb::help: return reply(214, "2.0.0", "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY");
    case Verb::vrfy:
        if (c.arg.empty()) return reply(501, "5.5.4", "Syntax: VRFY address");
        return reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
    case Verb::expn: return reply(502, "5.5.1", "Error: EXPN not implemented");
    case Verb::unknown: return reply(500, "5.5.2", "Error: command not recognized");
    }
}

void Session::do_helo(const Command& c, bool esmtp) {
    if (c.arg.empty() || c.arg.find(' ') != std::string::npos)
        return reply(501, "5.5.4", esmtp ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
    reset_transaction();
    helo_ = c.arg;
    esmtp_ = esmtp;
    if (!esmtp) return reply(250, "", cfg_.hostname);
    std::vector<std::string> lines = {cfg_.hostname, "PIPELINING", "SIZE " + std::to_string(cfg_.max_message_size),
                                      "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING", "DSN"};
    if (cfg_.starttls_available && !cfg_.tls_active) lines.push_back("STARTTLS");
    if (cfg_.auth_available && (cfg_.tls_active || peer_.loopback()) && auth_user_.empty())
        lines.push_back("AUTH PLAIN LOGIN");
    lines.push_back("HELP");
    reply_multi(250, lines);
}

void Session::do_mail(const Command& c) {
    if (helo_.empty()) return reply(503, "5.5.1", "Error: send HELO/EHLO first");
    if (have_mail_) return reply(503, "5.5.1", "Error: nested MAIL command");
    MailFrom m = parse_mail(c.arg, esmtp_);
    if (m.size && *m.size > cfg_.max_message_size)
        return reply(552, "5.3.4", "Error: message size exceeds fixed limit");
    reset_transaction();
    have_mail_ = true;
    env_.sender = m.sender;
    env_.body = m.body;
    env_.smtputf8 = m.smtputf8;
    env_.ret = m.ret;
    env_.envid = m.envid;
    reply(250, "2.1.0", "Ok");
}

std::string Session::reject_context(const std::string& to) const {
    return "from=" + env_.sender.path() + " to=<" + log::sanitize(to) + "> proto=" + (esmtp_ ? "ESMTP" : "SMTP") +
           " helo=<" + log::sanitize(helo_) + ">";
}

void Session::do_rcpt(const Command& c) {
    if (!have_mail_) return reply(503, "5.5.1", "Error: need MAIL command");
    if (env_.recipients.size() >= cfg_.max_recipients) return reply(452, "4.5.3", "Error: too many recipients");
    RcptTo r;
    try {
        r = parse_rcpt(c.arg, esmtp_, env_.smtputf8);
    } catch (const Error& e) {
        log::info("NOQUEUE: reject: RCPT from {}: {}; {}", peer_.namaddr(), e.status().reply(),
                  reject_context(c.arg.substr(0, 100)));
        throw;
    }
    Address rcpt = r.recipient;
    if (r.bare_postmaster) {
        rcpt = Address::parse("postmaster@" + cfg_.hostname, {});
    } else if (peer_.relayclient && !peer_.relayclient_suffix.empty()) {
        // qmail's RELAYCLIENT: its value is appended to the recipient.
        try {
            rcpt = Address::parse(rcpt.str() + peer_.relayclient_suffix, {false, false, env_.smtputf8});
        } catch (const Error&) {
            return reply(553, "5.1.3", "Error: the recipient with RELAYCLIENT appended is not an address");
        }
    }
    bool may_relay = cfg_.may_relay || cfg_.local || peer_.relayclient || !auth_user_.empty();
    Status st = r.bare_postmaster ? Status::ok() : backend_.check_recipient(rcpt, may_relay);
    if (!st.is_ok()) {
        log::info("NOQUEUE: reject: RCPT from {}: {}; {}", peer_.namaddr(), st.reply(), reject_context(rcpt.str()));
        return reply(st);
    }
    Recipient rc;
    rc.address = rcpt;
    rc.notify = r.notify;
    rc.orcpt = r.orcpt;
    env_.recipients.push_back(std::move(rc));
    reply(250, "2.1.5", "Ok");
}

// A failure to store a message is logged in full, but the client is told
// only what kind it was: file names and system details stay on this host.
static Status storage_failure(const Status& s, std::string_view id) {
    log::warning("{}: cannot queue the message: {}", id, s.text);
    Status out = s;
    out.text = s.code == 452 ? "Insufficient system storage" : "Local error in processing, try again later";
    return out;
}

bool Session::open_message() {
    try {
        queue_id_ = backend_.begin_message();
    } catch (const Error& e) {
        queue_id_.reset();
        reply(storage_failure(e.status(), "NOQUEUE"));
        return false;
    }
    log::info("{}: client={}{}", *queue_id_, peer_.namaddr(),
              auth_user_.empty() ? "" : ", sasl_username=" + log::sanitize(auth_user_));
    TraceInfo t;
    t.helo = helo_;
    if (cfg_.local) {
        t.local_user = cfg_.local_user;
    } else {
        t.client_name = peer_.name;
        t.client_ip = peer_.ip;
    }
    t.by = cfg_.hostname;
    t.protocol = with_protocol(esmtp_, cfg_.tls_active, !auth_user_.empty(), env_.smtputf8);
    t.tls = cfg_.tls_info;
    t.id = *queue_id_;
    for (auto& r : env_.recipients) t.recipients.push_back(r.address.str());
    content(received_header(t));
    return true;
}

void Session::content(std::string_view bytes) {
    if (bytes.empty() || store_error_ || !queue_id_) return;
    try {
        backend_.write(bytes);
    } catch (const Error& e) {
        store_error_ = storage_failure(e.status(), queue_id_ ? *queue_id_ : "NOQUEUE");
    }
}

void Session::do_data(const Command& c) {
    if (!c.arg.empty()) return reply(501, "5.5.4", "Syntax: DATA");
    if (!have_mail_) return reply(503, "5.5.1", "Error: need MAIL command");
    if (env_.recipients.empty()) return reply(554, "5.5.1", "Error: no valid recipients");
    if (reader_) return reply(503, "5.5.1", "Error: DATA after BDAT");
    if (!open_message()) return reset_transaction();
    DataReader::Limits l;
    l.max_size = cfg_.max_message_size;
    l.max_received = cfg_.max_received;
    l.lf_ends_line = cfg_.local;
    reader_ = std::make_unique<DataReader>(DataReader::Mode::data, l);
    mode_ = Mode::data;
    reply(354, "", "End data with <CR><LF>.<CR><LF>");
}

void Session::do_bdat(const Command& c) {
    Bdat b = parse_bdat(c.arg);  // a syntax error leaves the chunk unread: nothing else can be done
    bdat_left_ = b.size;
    bdat_size_ = b.size;
    bdat_last_ = b.last;
    mode_ = Mode::bdat;
    if (!have_mail_ || env_.recipients.empty()) {
        // The chunk is read and thrown away; then 503.
        if (bdat_left_ == 0) {
            mode_ = Mode::command;
            reply(503, "5.5.1", have_mail_ ? "Error: no valid recipients" : "Error: need MAIL command");
        }
        return;
    }
    if (!reader_) {
        if (!open_message()) {
            // Drain the chunk, then reply the failure.
            reset_transaction();
            bdat_left_ = b.size;
            bdat_failed_ = b.size > 0;
            if (b.size == 0) mode_ = Mode::command;
            return;
        }
        DataReader::Limits l;
        l.max_size = cfg_.max_message_size;
        l.max_received = cfg_.max_received;
        reader_ = std::make_unique<DataReader>(DataReader::Mode::bdat, l);
    }
    if (bdat_left_ == 0) {
        // An empty chunk: feed() will not see it, complete it here.
        mode_ = Mode::command;
        if (bdat_last_) {
            std::string chunk;
            reader_->finish(chunk);
            content(chunk);
            finish_message();
        } else {
            reply(250, "2.0.0", "Ok: 0 octets received");
        }
    }
}

Envelope Session::envelope() const {
    Envelope e = env_;
    e.client = cfg_.local ? "local" : peer_.namaddr();
    e.helo = helo_;
    e.protocol = cfg_.local ? "local" : with_protocol(esmtp_, cfg_.tls_active, !auth_user_.empty(), env_.smtputf8);
    e.auth = auth_user_;
    return e;
}

void Session::finish_message() {
    mode_ = Mode::command;
    std::string id = queue_id_ ? *queue_id_ : "NOQUEUE";
    std::optional<Status> failure = reader_->status();
    if (!failure && store_error_) failure = store_error_;
    if (!failure) {
        try {
            backend_.commit(envelope());
            queue_id_.reset();  // committed: nothing to abort
            log::info("{}: from={}, size={}, nrcpt={} (queued)", id, env_.sender.path(), reader_->size(),
                      env_.recipients.size());
            reply(250, "2.0.0", "Ok: queued as " + id);
        } catch (const Error& e) {
            failure = storage_failure(e.status(), id);
        }
    }
    if (failure) {
        log::info("{}: reject: {} from {}: {}; from={} proto={} helo=<{}>", id, in_data() ? "BDAT" : "DATA",
                  peer_.namaddr(), failure->reply(), env_.sender.path(), esmtp_ ? "ESMTP" : "SMTP", log::sanitize(helo_));
        reply(*failure);
    }
    reset_transaction();
}

// ---- STARTTLS and AUTH ----

void Session::do_starttls(const Command& c) {
    if (!c.arg.empty()) return reply(501, "5.5.4", "Syntax: STARTTLS");
    if (cfg_.tls_active) return reply(503, "5.5.1", "Error: TLS already active");
    if (!cfg_.starttls_available) return reply(502, "5.5.1", "Error: command not implemented");
    reply(220, "2.0.0", "Ready to start TLS");
    tls_pending_ = true;
}

void Session::do_auth(const Command& c) {
    if (!cfg_.auth_available) return reply(502, "5.5.1", "Error: authentication not enabled");
    if (!esmtp_) return reply(503, "5.5.1", "Error: send EHLO first");
    if (!auth_user_.empty()) return reply(503, "5.5.1", "Error: already authenticated");
    if (have_mail_) return reply(503, "5.5.1", "Error: MAIL transaction in progress");
    if (!cfg_.tls_active && !peer_.loopback()) return reply(538, "5.7.11", "Error: encryption required for authentication");
    std::string mech = ascii::upper(c.arg.substr(0, c.arg.find(' ')));
    std::string initial = c.arg.find(' ') == std::string::npos ? "" : c.arg.substr(c.arg.find(' ') + 1);
    if (mech != "PLAIN" && mech != "LOGIN") return reply(504, "5.5.4", "Error: unsupported authentication mechanism");
    auth_mech_ = mech;
    auth_step_ = 0;
    auth_login_user_.clear();
    mode_ = Mode::auth;
    if (mech == "PLAIN") {
        if (initial.empty()) return reply(334, "", "");
        return auth_step(initial);
    }
    if (initial.empty()) return reply(334, "", "VXNlcm5hbWU6");  // "Username:"
    return auth_step(initial);
}

void Session::auth_step(std::string_view line) {
    auto fail = [&](int code, const char* enh, const char* text) {
        mode_ = Mode::command;
        reply(code, enh, text);
    };
    if (line == "*") return fail(501, "5.0.0", "Authentication aborted");
    auto decoded = base64::decode(line == "=" ? std::string_view() : line);
    if (!decoded) return fail(501, "5.5.2", "Error: cannot decode the response");
    std::string user, password;
    if (auth_mech_ == "PLAIN") {
        // authzid NUL authcid NUL password
        auto a = decoded->find('\0');
        auto b = a == std::string::npos ? a : decoded->find('\0', a + 1);
        if (b == std::string::npos) return fail(501, "5.5.2", "Error: malformed PLAIN response");
        std::string authz = decoded->substr(0, a);
        user = decoded->substr(a + 1, b - a - 1);
        password = decoded->substr(b + 1);
        if (!authz.empty() && authz != user) return fail(535, "5.7.8", "Error: authentication failed");
    } else if (auth_step_ == 0) {
        auth_login_user_ = *decoded;
        auth_step_ = 1;
        return reply(334, "", "UGFzc3dvcmQ6");  // "Password:"
    } else {
        user = auth_login_user_;
        password = *decoded;
    }
    mode_ = Mode::command;
    if (!user.empty() && backend_.authenticate(user, password)) {
        auth_user_ = user;
        log::info("{}: authenticated: sasl_method={}, sasl_username={}", peer_.namaddr(), auth_mech_, log::sanitize(user));
        return reply(235, "2.7.0", "Authentication successful");
    }
    log::warning("{}: SASL {} authentication failed", peer_.namaddr(), auth_mech_);
    reply(535, "5.7.8", "Error: authentication failed");
}

}  // namespace mta::smtp
