#include "dsn.hpp"

#include "ascii.hpp"
#include "clock.hpp"

#include <cctype>

namespace mta {

namespace {

bool has_8bit(std::string_view s) {
    for (unsigned char c : s)
        if (c >= 0x80) return true;
    return false;
}

// A header field, folded at white space before 78 columns.
std::string field(std::string_view name, std::string_view value) {
    std::string out;
    std::string line = std::string(name) + ": ";
    size_t pos = 0;
    bool first_word = true;
    while (pos < value.size()) {
        size_t sp = value.find(' ', pos);
        std::string_view word = value.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
        pos = sp == std::string_view::npos ? value.size() : sp + 1;
        if (word.empty()) continue;
        if (!first_word && line.size() + 1 + word.size() > 78) {
            out += line + "\n";
            line = "\t";
            line += word;
        } else {
            if (!first_word) line += ' ';
            line += word;
        }
        first_word = false;
    }
    return out + line + "\n";
}

// "mx.example.org[192.0.2.1]:25" → "mx.example.org"; "" for local or none.
std::string remote_name(std::string_view remote) {
    if (remote.empty() || remote == "-" || remote == "local" || remote.starts_with("lmtp:")) return "";
    auto b = remote.find('[');
    return std::string(remote.substr(0, b));
}

std::string address_field(const Address& a) {
    return (a.is_utf8() ? "utf-8; " : "rfc822; ") + a.str();
}

std::string orcpt_field(std::string_view orcpt) {
    auto semi = orcpt.find(';');
    if (semi == std::string_view::npos) return "rfc822; " + xtext_decode(orcpt);
    std::string type = ascii::lower(orcpt.substr(0, semi));
    std::string_view addr = orcpt.substr(semi + 1);
    while (!addr.empty() && addr[0] == ' ') addr.remove_prefix(1);
    return type + "; " + (type == "utf-8" ? std::string(addr) : xtext_decode(addr));
}

}  // namespace

std::string_view to_string(DsnAction a) {
    switch (a) {
    case DsnAction::failed: return "failed";
    case DsnAction::delayed: return "delayed";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed: return "relayed";
    }
    return "failed";
}

bool notify_wants(std::string_view notify, DsnAction a) {
    if (notify.empty()) return a == DsnAction::failed || a == DsnAction::delayed;
    std::string_view want = a == DsnAction::failed    ? "FAILURE"
                            : a == DsnAction::delayed ? "DELAY"
                                                      : "SUCCESS";
    while (!notify.empty()) {
        auto comma = notify.find(',');
        std::string_view item = notify.substr(0, comma);
        if (ascii::iequal(item, "NEVER")) return false;
        if (ascii::iequal(item, want)) return true;
        notify = comma == std::string_view::npos ? std::string_view() : notify.substr(comma + 1);
    }
    return false;
}

std::string xtext_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+' && i + 2 < s.size() + 0 && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += char(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string_view header_block(std::string_view m) {
    if (m.starts_with("\n")) return m.substr(0, 0);
    auto end = m.find("\n\n");
    if (end == std::string_view::npos) return m;
    return m.substr(0, end + 1);
}

std::string header_value(std::string_view headers, std::string_view name) {
    size_t pos = 0;
    while (pos < headers.size()) {
        size_t nl = headers.find('\n', pos);
        std::string_view line = headers.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? headers.size() : nl + 1;
        auto colon = line.find(':');
        if (colon == std::string_view::npos || line.empty() || line[0] == ' ' || line[0] == '\t') continue;
        std::string_view n = line.substr(0, colon);
        while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
        if (!ascii::iequal(n, name)) continue;
        std::string v(line.substr(colon + 1));
        while (pos < headers.size() && (headers[pos] == ' ' || headers[pos] == '\t')) {
            size_t e = headers.find('\n', pos);
            v += headers.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos);
            pos = e == std::string_view::npos ? headers.size() : e + 1;
        }
        for (char& c : v)
            if (c == '\t' || c == '\r') c = ' ';
        auto b = v.find_first_not_of(' ');
        auto e = v.find_last_not_of(' ');
        return b == std::string::npos ? "" : v.substr(b, e - b + 1);
    }
    return "";
}

DsnMessage make_dsn(const DsnReport& r) {
    const Envelope& orig = *r.original;
    bool any_failed = false, any_delayed = false;
    for (auto& x : r.recipients) {
        any_failed = any_failed || x.action == DsnAction::failed;
        any_delayed = any_delayed || x.action == DsnAction::delayed;
    }
    std::string subject = any_failed    ? "Undelivered Mail Returned to Sender"
                          : any_delayed ? "Delayed Mail (still being retried)"
                                        : "Successful Mail Delivery Report";
    std::string_view headers = header_block(r.message);
    std::string msgid = header_value(headers, "Message-ID");
    std::string orig_id = orig.id ? orig.id->str() : "-";
    std::string boundary = r.dsn_id.str() + "/" + r.reporting_mta;
    bool global = orig.smtputf8;

    // What to return: RET=HDRS → headers; RET=FULL → the message; no RET →
    // the message when it is small, else its headers.
    bool full = orig.ret == "FULL" || (orig.ret.empty() && r.message.size() <= r.return_limit);
    if (orig.ret == "HDRS") full = false;
    // RET is about failures (RFC 3461 4.3): other reports carry headers only.
    if (!any_failed) full = false;
    std::string_view returned = full ? r.message : headers;

    DsnMessage out;
    std::string m;
    m += "From: Mail Delivery System <MAILER-DAEMON@" + r.reporting_mta + ">\n";
    m += "To: " + orig.sender.path() + "\n";
    m += "Subject: " + subject + "\n";
    m += "Date: " + clock::rfc5322(r.now) + "\n";
    m += "Message-ID: <" + r.dsn_id.str() + "@" + r.reporting_mta + ">\n";
    if (!msgid.empty()) {
        m += "In-Reply-To: " + msgid + "\n";
        m += "References: " + msgid + "\n";
    }
    m += "Auto-Submitted: auto-replied\n";
    m += "MIME-Version: 1.0\n";
    m += "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"" + boundary + "\"\n";

    // Part 1: for people.
    std::string human;
    human += "This is the mail system at host " + r.reporting_mta + ".\n\n";
    if (any_failed) {
        human += "Your message could not be delivered to one or more recipients.\n";
        human += "The mail system gave up on the addresses below; the reasons follow each one.\n";
    } else if (any_delayed) {
        human += "Your message has not been delivered yet to the recipients below.\n";
        human += "The mail system will keep trying until " + clock::rfc5322(r.will_retry_until) + ";\n";
        human += "you do not need to send the message again.\n";
    } else {
        human += "Your message was delivered to the recipients below, as you asked to be told.\n";
    }
    human += "\n";
    for (auto& x : r.recipients) {
        std::string line = x.address.path() + ": " + x.status.reply();
        if (!x.remote.empty() && x.remote != "-") line += " (" + x.remote + ")";
        human += line + "\n";
    }
    human += "\nThe message was queued as " + orig_id + " on " + clock::rfc5322(orig.arrival) + ".\n";

    // Part 2: for programs.
    std::string report;
    report += "Reporting-MTA: dns; " + r.reporting_mta + "\n";
    if (!orig.envid.empty()) report += field("Original-Envelope-Id", orig.envid);
    report += "X-Mta-Queue-ID: " + orig_id + "\n";
    report += "X-Mta-Sender: " + (orig.sender.is_null() ? std::string("rfc822;") : address_field(orig.sender)) + "\n";
    report += "Arrival-Date: " + clock::rfc5322(orig.arrival) + "\n";
    for (auto& x : r.recipients) {
        report += "\n";
        report += field("Final-Recipient", address_field(x.address));
        if (!x.orcpt.empty()) report += field("Original-Recipient", orcpt_field(x.orcpt));
        report += "Action: " + std::string(to_string(x.action)) + "\n";
        report += "Status: " + x.status.enhanced + "\n";
        if (auto name = remote_name(x.remote); !name.empty()) report += "Remote-MTA: dns; " + name + "\n";
        if (x.action != DsnAction::delivered || !x.status.text.empty())
            report += field("Diagnostic-Code", "smtp; " + x.status.reply());
        if (x.last_attempt) report += "Last-Attempt-Date: " + clock::rfc5322(x.last_attempt) + "\n";
        if (x.action == DsnAction::delayed && r.will_retry_until)
            report += "Will-Retry-Until: " + clock::rfc5322(r.will_retry_until) + "\n";
    }

    bool human8 = has_8bit(human), report8 = has_8bit(report), returned8 = has_8bit(returned);
    out.eight_bit = human8 || report8 || returned8;
    m += std::string("Content-Transfer-Encoding: ") + (out.eight_bit ? "8bit" : "7bit") + "\n";
    m += "\nThis is a MIME-encapsulated message.\n\n";
    m += "--" + boundary + "\n";
    m += "Content-Description: Notification\n";
    m += std::string("Content-Type: text/plain; charset=") + (human8 ? "utf-8" : "us-ascii") + "\n";
    if (human8) m += "Content-Transfer-Encoding: 8bit\n";
    m += "\n" + human + "\n";
    m += "--" + boundary + "\n";
    m += "Content-Description: Delivery report\n";
    m += std::string("Content-Type: message/") + (global ? "global-delivery-status" : "delivery-status") + "\n";
    if (report8) m += "Content-Transfer-Encoding: 8bit\n";
    m += "\n" + report + "\n";
    m += "--" + boundary + "\n";
    if (full) {
        m += "Content-Description: Undelivered Message\n";
        m += std::string("Content-Type: message/") + (global ? "global" : "rfc822") + "\n";
    } else {
        m += std::string("Content-Description: ") + (any_failed ? "Undelivered " : "") + "Message Headers\n";
        m += std::string("Content-Type: ") + (global ? "message/global-headers" : "text/rfc822-headers") + "\n";
    }
    if (returned8) m += "Content-Transfer-Encoding: 8bit\n";
    m += "\n";
    m += returned;
    if (!returned.empty() && returned.back() != '\n') m += "\n";
    m += "\n--" + boundary + "--\n";
    out.text = std::move(m);
    return out;
}

}  // namespace mta
