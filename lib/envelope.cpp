#include "envelope.hpp"

#include "status.hpp"

#include <charconv>

namespace mta {

namespace {

constexpr std::string_view magic = "mta-envelope 1";
const Address::Options stored{.allow_null = true, .allow_bare_local = true, .utf8 = true};

template <typename T>
T number(std::string_view v, std::string_view key) {
    T n{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size())
        throw Error::data("envelope: bad number for " + std::string(key) + ": " + std::string(v));
    return n;
}

void line(std::string& out, std::string_view indent, std::string_view key, std::string_view value) {
    out += indent;
    out += key;
    out += ' ';
    out += one_line(value);
    out += '\n';
}

}  // namespace

std::string_view to_string(RcptState s) {
    switch (s) {
    case RcptState::pending: return "pending";
    case RcptState::sent: return "sent";
    case RcptState::failed: return "failed";
    }
    return "pending";
}

std::string one_line(std::string_view s) {
    std::string r(s);
    for (char& c : r)
        if (c == '\r' || c == '\n' || c == '\0') c = ' ';
    return r;
}

bool Envelope::all_final() const { return count(RcptState::pending) == 0; }

size_t Envelope::count(RcptState s) const {
    size_t n = 0;
    for (auto& r : recipients) n += r.state == s;
    return n;
}

std::string Envelope::get_extra(std::string_view key) const {
    for (auto& [k, v] : extra)
        if (k == key) return v;
    return "";
}

void Envelope::set_extra(std::string key, std::string value) {
    for (auto& [k, v] : extra)
        if (k == key) {
            v = std::move(value);
            return;
        }
    extra.emplace_back(std::move(key), std::move(value));
}

std::string serialize(const Envelope& e) {
    std::string out(magic);
    out += '\n';
    if (e.id) line(out, "", "id", e.id->str());
    line(out, "", "arrival", std::to_string(e.arrival));
    line(out, "", "sender", e.sender.path());
    line(out, "", "size", std::to_string(e.size));
    if (!e.body.empty()) line(out, "", "body", e.body);
    if (e.smtputf8) line(out, "", "smtputf8", "yes");
    if (!e.ret.empty()) line(out, "", "ret", e.ret);
    if (!e.envid.empty()) line(out, "", "envid", e.envid);
    if (!e.client.empty()) line(out, "", "client", e.client);
    if (!e.helo.empty()) line(out, "", "helo", e.helo);
    if (!e.protocol.empty()) line(out, "", "protocol", e.protocol);
    if (!e.auth.empty()) line(out, "", "auth", e.auth);
    line(out, "", "next", std::to_string(e.next_attempt));
    line(out, "", "attempts", std::to_string(e.attempts));
    for (auto& [k, v] : e.extra) line(out, "", k, v);
    for (auto& r : e.recipients) {
        line(out, "", "rcpt", r.address.path());
        if (!r.orcpt.empty()) line(out, "  ", "orcpt", r.orcpt);
        if (!r.notify.empty()) line(out, "  ", "notify", r.notify);
        line(out, "  ", "state", to_string(r.state));
        if (r.attempts) line(out, "  ", "attempts", std::to_string(r.attempts));
        if (!r.last.empty()) line(out, "  ", "last", r.last);
        if (!r.remote.empty()) line(out, "  ", "remote", r.remote);
        if (r.updated) line(out, "  ", "updated", std::to_string(r.updated));
        for (auto& [k, v] : r.extra) line(out, "  ", k, v);
    }
    out += "end\n";
    return out;
}

namespace {

Error not_an_envelope() { return Error::data("envelope: not an mta-envelope 1 file"); }

}  // namespace

void check_envelope_start(std::string_view head) {
    std::string_view first = head.substr(0, magic.size() + 1);
    if (first.size() > magic.size() && first != std::string(magic) + "\n") throw not_an_envelope();
}

Envelope parse_envelope(std::string_view text) {
    Envelope e;
    bool first = true, ended = false;
    Recipient* r = nullptr;
    while (!text.empty()) {
        auto nl = text.find('\n');
        if (nl == std::string_view::npos) throw Error::data("envelope: last line not terminated");
        std::string_view l = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (ended) throw Error::data("envelope: data after end");
        if (first) {
            if (l != magic) throw not_an_envelope();
            first = false;
            continue;
        }
        if (l == "end") {
            ended = true;
            continue;
        }
        bool indented = l.substr(0, 2) == "  ";
        if (indented) l.remove_prefix(2);
        auto sp = l.find(' ');
        if (sp == std::string_view::npos || sp == 0) throw Error::data("envelope: bad line: " + std::string(l));
        std::string_view key = l.substr(0, sp), v = l.substr(sp + 1);
        if (indented) {
            if (!r) throw Error::data("envelope: recipient field before rcpt");
            if (key == "orcpt") r->orcpt = v;
            else if (key == "notify") r->notify = v;
            else if (key == "state") {
                if (v == "pending") r->state = RcptState::pending;
                else if (v == "sent") r->state = RcptState::sent;
                else if (v == "failed") r->state = RcptState::failed;
                else throw Error::data("envelope: bad state " + std::string(v));
            } else if (key == "attempts") r->attempts = number<int>(v, key);
            else if (key == "last") r->last = v;
            else if (key == "remote") r->remote = v;
            else if (key == "updated") r->updated = number<std::time_t>(v, key);
            else r->extra.emplace_back(key, v);
            continue;
        }
        if (key == "rcpt") {
            e.recipients.emplace_back();
            r = &e.recipients.back();
            r->address = Address::parse_path(v, stored);
            continue;
        }
        if (r) throw Error::data("envelope: message field after recipients: " + std::string(key));
        if (key == "id") {
            e.id = QueueId::parse(v);
            if (!e.id) throw Error::data("envelope: bad id");
        } else if (key == "arrival") e.arrival = number<std::time_t>(v, key);
        else if (key == "sender") e.sender = Address::parse_path(v, stored);
        else if (key == "size") e.size = number<std::uint64_t>(v, key);
        else if (key == "body") e.body = v;
        else if (key == "smtputf8") e.smtputf8 = v == "yes";
        else if (key == "ret") e.ret = v;
        else if (key == "envid") e.envid = v;
        else if (key == "client") e.client = v;
        else if (key == "helo") e.helo = v;
        else if (key == "protocol") e.protocol = v;
        else if (key == "auth") e.auth = v;
        else if (key == "next") e.next_attempt = number<std::time_t>(v, key);
        else if (key == "attempts") e.attempts = number<int>(v, key);
        else e.extra.emplace_back(key, v);
    }
    if (first || !ended) throw Error::data("envelope: truncated (no end line)");
    return e;
}

}  // namespace mta
