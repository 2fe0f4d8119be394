#include "smtp_transaction.hpp"

#include "ascii.hpp"
#include "status.hpp"

#include <algorithm>

namespace mta {

namespace {

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        size_t b = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
        if (i > b) out.emplace_back(s.substr(b, i - b));
    }
    return out;
}

// An ORCPT value as stored is already "addr-type;xtext"; encode it only
// when it carries characters xtext does not allow.
std::string orcpt_param(std::string_view v) {
    bool clean = std::all_of(v.begin(), v.end(), [](char c) { return c >= '!' && c <= '~' && c != '='; });
    if (clean) return std::string(v);
    auto semi = v.find(';');
    if (semi == std::string_view::npos) return "rfc822;" + xtext(v);
    return std::string(v.substr(0, semi + 1)) + xtext(v.substr(semi + 1));
}

// The size SIZE= declares: the content as sent, without the terminator.
std::uint64_t declared_size(const OutgoingMessage& m) { return m.data.size() >= 3 ? m.data.size() - 3 : 0; }

}  // namespace

ServerFeatures parse_ehlo(const SmtpReply& r) {
    ServerFeatures f;
    f.esmtp = true;
    for (size_t i = 1; i < r.lines.size(); ++i) {
        auto w = words(r.lines[i]);
        if (w.empty()) continue;
        std::string key = ascii::upper(w[0]);
        // "AUTH=PLAIN LOGIN": the pre-RFC 4954 form some servers still send.
        if (key.rfind("AUTH=", 0) == 0) {
            w[0] = w[0].substr(5);
            key = "AUTH";
        } else {
            w.erase(w.begin());
        }
        if (key == "PIPELINING") f.pipelining = true;
        else if (key == "8BITMIME") f.eightbitmime = true;
        else if (key == "SMTPUTF8") f.smtputf8 = true;
        else if (key == "DSN") f.dsn = true;
        else if (key == "STARTTLS") f.starttls = true;
        else if (key == "SIZE") {
            f.size = true;
            if (!w.empty()) {
                std::uint64_t n = 0;
                bool ok = !w[0].empty() && w[0].size() < 19;
                for (char c : w[0]) ok = ok && c >= '0' && c <= '9', n = n * 10 + std::uint64_t(c - '0');
                if (ok) f.size_limit = n;
            }
        } else if (key == "AUTH") {
            for (auto& m : w)
                if (!m.empty() && std::find(f.auth.begin(), f.auth.end(), ascii::upper(m)) == f.auth.end())
                    f.auth.push_back(ascii::upper(m));
        }
    }
    return f;
}

ServerFeatures say_hello(SmtpConnection& c, const std::string& name, const SmtpTimeouts& t) {
    SmtpReply r = c.command("EHLO " + name, t.helo, "in reply to EHLO command");
    if (r.code == 250) return parse_ehlo(r);
    if (r.permanent()) {
        // RFC 5321 3.2: a server that does not know EHLO still knows HELO.
        SmtpReply h = c.command("HELO " + name, t.helo, "in reply to HELO command");
        if (h.code == 250) return ServerFeatures();
        throw Error(h.status("X.5.0"));
    }
    throw Error(r.status("X.5.0"));
}

std::string mail_command(const OutgoingMessage& m, const ServerFeatures& f) {
    std::string cmd = "MAIL FROM:" + m.sender.path();
    if (f.size) cmd += " SIZE=" + std::to_string(declared_size(m));
    if (m.eight_bit && f.eightbitmime) cmd += " BODY=8BITMIME";
    if (m.smtputf8 && f.smtputf8) cmd += " SMTPUTF8";
    if (f.dsn) {
        if (!m.ret.empty()) cmd += " RET=" + m.ret;
        if (!m.envid.empty()) cmd += " ENVID=" + xtext(m.envid);
    }
    return cmd;
}

std::string rcpt_command(const OutgoingMessage&, const OutgoingRecipient& r, const ServerFeatures& f) {
    std::string cmd = "RCPT TO:" + r.address.path();
    if (f.dsn) {
        if (!r.notify.empty()) cmd += " NOTIFY=" + r.notify;
        if (!r.orcpt.empty()) cmd += " ORCPT=" + orcpt_param(r.orcpt);
    }
    return cmd;
}

bool send_transaction(SmtpConnection& c, const ServerFeatures& f, const OutgoingMessage& m,
                      const std::vector<size_t>& which, const SmtpTimeouts& t, const std::string& host,
                      std::vector<RecipientResult>& out, bool& left_open) {
    left_open = false;
    std::vector<bool> decided(out.size(), false);
    auto set = [&](size_t i, Status s, bool final) {
        out[i] = RecipientResult{std::move(s), final, host};
        decided[i] = true;
    };
    auto set_rest = [&](const Status& s, bool final) {
        for (size_t i : which)
            if (!decided[i]) set(i, s, final);
    };
    auto final_for = [](const SmtpReply& r) { return !r.transient(); };

    // Refusals this server's extensions imply: nothing is sent.
    if (m.smtputf8 && !f.smtputf8) {
        set_rest(Status::permanent(553, "5.6.7", "the message needs SMTPUTF8, which the server does not offer"), true);
        return true;
    }
    if (m.eight_bit && !f.eightbitmime) {
        set_rest(Status::permanent(554, "5.6.3", "the message has 8-bit content and the server does not offer 8BITMIME"),
                 true);
        return true;
    }
    if (f.size && f.size_limit > 0 && declared_size(m) > f.size_limit) {
        set_rest(Status::permanent(552, "5.3.4",
                                   "message size " + std::to_string(declared_size(m)) + " exceeds the server's limit " +
                                       std::to_string(f.size_limit)),
                 true);
        return true;
    }

    bool after_dot = false;
    std::vector<size_t> accepted;
    try {
        std::string mail = mail_command(m, f);
        std::optional<SmtpReply> mail_reply, data_reply;
        // A 421 anywhere: the server is closing the connection.
        auto closing = [&](const SmtpReply& r) {
            if (r.code != 421) return false;
            set_rest(r.status("X.0.0"), false);
            c.close();
            return true;
        };
        if (f.pipelining) {
            std::string group = mail + "\r\n";
            for (size_t i : which) group += rcpt_command(m, m.recipients[i], f) + "\r\n";
            group += "DATA\r\n";
            c.write(group, t.mail, "while sending MAIL FROM, RCPT TO and DATA");
            mail_reply = c.read_reply(t.mail, "in reply to MAIL FROM command");
            if (closing(*mail_reply)) return false;
            for (size_t i : which) {
                SmtpReply r = c.read_reply(t.rcpt, "in reply to RCPT TO command");
                if (closing(r)) return false;
                if (!mail_reply->positive()) continue;
                if (r.positive()) accepted.push_back(i);
                else set(i, r.status("X.1.0"), final_for(r));
            }
            data_reply = c.read_reply(t.data_init, "in reply to DATA command");
            if (closing(*data_reply)) return false;
            left_open = mail_reply->positive();
            if (data_reply->code == 354 && (accepted.empty() || !mail_reply->positive())) {
                // RFC 2920 3.1: nothing to send, but the server waits for data.
                c.write(".\r\n", t.data_block, "while ending an empty DATA");
                SmtpReply r = c.read_reply(t.data_done, "in reply to end of DATA");
                if (closing(r)) return false;
                left_open = false;
            }
            if (!mail_reply->positive()) {
                set_rest(mail_reply->status("X.1.0"), final_for(*mail_reply));
                return true;
            }
        } else {
            mail_reply = c.command(mail, t.mail, "in reply to MAIL FROM command");
            if (closing(*mail_reply)) return false;
            if (!mail_reply->positive()) {
                set_rest(mail_reply->status("X.1.0"), final_for(*mail_reply));
                return true;
            }
            left_open = true;
            for (size_t i : which) {
                SmtpReply r = c.command(rcpt_command(m, m.recipients[i], f), t.rcpt, "in reply to RCPT TO command");
                if (closing(r)) return false;
                if (r.positive()) accepted.push_back(i);
                else set(i, r.status("X.1.0"), final_for(r));
            }
            if (accepted.empty()) return true;
            data_reply = c.command("DATA", t.data_init, "in reply to DATA command");
            if (closing(*data_reply)) return false;
        }
        if (accepted.empty()) return true;
        if (data_reply->code != 354) {
            set_rest(data_reply->status("X.0.0"), final_for(*data_reply));
            return true;
        }
        std::string_view data = m.data;
        constexpr size_t block = 64 * 1024;
        for (size_t off = 0; off < data.size(); off += block)
            c.write(data.substr(off, block), t.data_block, "while sending message content");
        after_dot = true;
        SmtpReply r = c.read_reply(t.data_done, "in reply to end of DATA");
        after_dot = false;
        left_open = false;
        if (closing(r)) return false;
        set_rest(r.status(r.positive() ? "2.0.0" : "X.0.0"), final_for(r));
        return true;
    } catch (const Error& e) {
        Status s = e.status();
        if (after_dot) {
            // qmail-remote's "possible duplicate": the server may have taken
            // the message. Not retried on another host in this run.
            s.text += " after end of data: the message may have been delivered (possible duplicate)";
            set_rest(s, true);
        } else {
            set_rest(s, false);
        }
        c.close();
        return false;
    }
}

bool reset(SmtpConnection& c, const SmtpTimeouts& t) {
    try {
        return c.command("RSET", t.rset, "in reply to RSET command").code == 250;
    } catch (const Error&) {
        return false;
    }
}

void quit(SmtpConnection& c, const SmtpTimeouts& t) {
    try {
        c.command("QUIT", t.quit, "in reply to QUIT command");
    } catch (const Error&) {
    }
    c.close();
}

}  // namespace mta
