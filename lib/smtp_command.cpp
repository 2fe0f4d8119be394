#include "smtp_command.hpp"

#include "ascii.hpp"
#include "status.hpp"

#include <charconv>
#include <vector>

namespace mta::smtp {

namespace {

Error syntax(std::string enhanced, std::string text) {
    return Error(Status::permanent(501, std::move(enhanced), std::move(text)), ex::protocol);
}

Error bad_param(std::string text) {
    return Error(Status::permanent(555, "5.5.4", std::move(text)), ex::protocol);
}

// "FROM:<path> params" → path and the list of parameters. Tolerates one
// space after the colon (common in the wild), nothing else.
std::pair<std::string_view, std::vector<std::string_view>> split_path(std::string_view arg, std::string_view keyword) {
    if (arg.size() < keyword.size() || !ascii::iequal(arg.substr(0, keyword.size()), keyword))
        throw syntax("5.5.4", "Syntax: " + std::string(keyword) + "<address>");
    arg.remove_prefix(keyword.size());
    if (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    if (arg.empty() || arg.front() != '<') throw syntax("5.5.4", "Syntax: " + std::string(keyword) + "<address>");
    // The path ends at the first '>' outside a quoted string.
    size_t i = 1;
    bool quoted = false;
    for (; i < arg.size(); ++i) {
        char c = arg[i];
        if (quoted && c == '\\') {
            ++i;
            continue;
        }
        if (c == '"') quoted = !quoted;
        if (c == '>' && !quoted) break;
    }
    if (i >= arg.size()) throw syntax("5.1.3", "unterminated address");
    std::string_view path = arg.substr(0, i + 1);
    std::string_view rest = arg.substr(i + 1);
    std::vector<std::string_view> params;
    if (!rest.empty() && rest.front() != ' ') throw syntax("5.5.4", "garbage after the address");
    while (!rest.empty()) {
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        if (rest.empty()) break;
        auto sp = rest.find(' ');
        params.push_back(rest.substr(0, sp));
        rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    }
    return {path, params};
}

std::pair<std::string, std::string_view> split_param(std::string_view p) {
    auto eq = p.find('=');
    if (eq == 0) throw bad_param("bad parameter: " + std::string(p.substr(0, 40)));
    if (eq == std::string_view::npos) return {ascii::upper(p), {}};
    return {ascii::upper(p.substr(0, eq)), p.substr(eq + 1)};
}

bool is_digits(std::string_view s) {
    if (s.empty() || s.size() > 20) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

std::uint64_t number(std::string_view s, const char* what) {
    std::uint64_t v = 0;
    if (!is_digits(s) || std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc())
        throw syntax("5.5.4", std::string("bad ") + what + " value");
    return v;
}

}  // namespace

Command parse_command(std::string_view line) {
    for (unsigned char c : line)
        if ((c < 32 && c != '\t') || c == 127) throw syntax("5.5.2", "control characters (NUL, CR, LF...) in command");
    Command cmd;
    auto sp = line.find(' ');
    cmd.name = ascii::upper(line.substr(0, sp));
    if (sp != std::string_view::npos) {
        std::string_view a = line.substr(sp + 1);
        while (!a.empty() && (a.back() == ' ' || a.back() == '\t')) a.remove_suffix(1);
        cmd.arg = std::string(a);
    }
    static const std::pair<const char*, Verb> verbs[] = {
        {"HELO", Verb::helo}, {"EHLO", Verb::ehlo}, {"MAIL", Verb::mail}, {"RCPT", Verb::rcpt},
        {"DATA", Verb::data}, {"BDAT", Verb::bdat}, {"RSET", Verb::rset}, {"NOOP", Verb::noop},
        {"QUIT", Verb::quit}, {"HELP", Verb::help}, {"VRFY", Verb::vrfy}, {"EXPN", Verb::expn},
        {"STARTTLS", Verb::starttls}, {"AUTH", Verb::auth}};
    for (auto& [n, v] : verbs)
        if (cmd.name == n) cmd.verb = v;
    return cmd;
}

std::string xtext_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 33 || c > 126 || c == '=') throw syntax("5.5.4", "bad xtext");
        if (c != '+') {
            out += char(c);
            continue;
        }
        auto hex = [](char h) -> int {
            if (h >= '0' && h <= '9') return h - '0';
            if (h >= 'A' && h <= 'F') return h - 'A' + 10;
            return -1;
        };
        if (i + 2 >= s.size()) throw syntax("5.5.4", "bad xtext");
        int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
        if (hi < 0 || lo < 0) throw syntax("5.5.4", "bad xtext");
        out += char(hi * 16 + lo);
        i += 2;
    }
    return out;
}

MailFrom parse_mail(std::string_view arg, bool esmtp) {
    auto [path, params] = split_path(arg, "FROM:");
    MailFrom m;
    if (!esmtp && !params.empty()) throw bad_param("parameters need EHLO");
    bool seen_size = false, seen_body = false, seen_ret = false, seen_envid = false, seen_auth = false;
    for (auto p : params) {
        // not a structured binding: clang 14 cannot capture those in lambdas
        auto kv = split_param(p);
        const std::string& key = kv.first;
        std::string_view value = kv.second;
        auto once = [&](bool& seen) {
            if (seen) throw bad_param("duplicate " + key + " parameter");
            seen = true;
        };
        if (key == "SIZE") {
            once(seen_size);
            m.size = number(value, "SIZE");
        } else if (key == "BODY") {
            once(seen_body);
            std::string v = ascii::upper(value);
            if (v != "7BIT" && v != "8BITMIME") throw bad_param("BODY must be 7BIT or 8BITMIME");
            m.body = v;
        } else if (key == "SMTPUTF8") {
            if (!value.empty()) throw bad_param("SMTPUTF8 takes no value");
            m.smtputf8 = true;
        } else if (key == "RET") {
            once(seen_ret);
            std::string v = ascii::upper(value);
            if (v != "FULL" && v != "HDRS") throw bad_param("RET must be FULL or HDRS");
            m.ret = v;
        } else if (key == "ENVID") {
            once(seen_envid);
            if (value.empty() || value.size() > 100) throw bad_param("bad ENVID");
            m.envid = xtext_decode(value);
        } else if (key == "AUTH") {
            once(seen_auth);
            if (value.empty()) throw bad_param("bad AUTH");
            m.auth = value == "<>" ? "<>" : xtext_decode(value);
        } else {
            throw bad_param("unsupported parameter " + key.substr(0, 40));
        }
    }
    Address::Options o;
    o.allow_null = true;
    o.utf8 = m.smtputf8;
    m.sender = Address::parse_path(path, o);
    return m;
}

RcptTo parse_rcpt(std::string_view arg, bool esmtp, bool utf8) {
    auto [path, params] = split_path(arg, "TO:");
    RcptTo r;
    if (!esmtp && !params.empty()) throw bad_param("parameters need EHLO");
    bool seen_notify = false, seen_orcpt = false;
    for (auto p : params) {
        // not a structured binding: clang 14 cannot capture those in lambdas
        auto kv = split_param(p);
        const std::string& key = kv.first;
        std::string_view value = kv.second;
        if (key == "NOTIFY") {
            if (seen_notify) throw bad_param("duplicate NOTIFY parameter");
            seen_notify = true;
            std::string v = ascii::upper(value), out;
            bool never = false, other = false;
            size_t start = 0;
            while (start <= v.size()) {
                auto comma = v.find(',', start);
                std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                if (item == "NEVER") never = true;
                else if (item == "SUCCESS" || item == "FAILURE" || item == "DELAY") other = true;
                else throw bad_param("bad NOTIFY value");
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
            if (never && other) throw bad_param("NOTIFY=NEVER cannot be combined");
            r.notify = v;
        } else if (key == "ORCPT") {
            if (seen_orcpt) throw bad_param("duplicate ORCPT parameter");
            seen_orcpt = true;
            auto semi = value.find(';');
            if (semi == std::string_view::npos || semi == 0 || value.size() > 500) throw bad_param("bad ORCPT");
            r.orcpt = std::string(value.substr(0, semi + 1)) + xtext_decode(value.substr(semi + 1));
        } else {
            throw bad_param("unsupported parameter " + key.substr(0, 40));
        }
    }
    Address::Options o;
    o.allow_bare_local = true;
    o.utf8 = utf8;
    r.recipient = Address::parse_path(path, o);
    if (r.recipient.domain().empty()) {
        if (!r.recipient.is_postmaster()) throw syntax("5.1.3", "recipient address needs a domain");
        r.bare_postmaster = true;
    }
    return r;
}

Bdat parse_bdat(std::string_view arg) {
    Bdat b;
    auto sp = arg.find(' ');
    std::string_view n = arg.substr(0, sp);
    b.size = number(n, "BDAT size");
    if (sp != std::string_view::npos) {
        std::string_view rest = arg.substr(sp + 1);
        if (!ascii::iequal(rest, "LAST")) throw syntax("5.5.4", "Syntax: BDAT size [LAST]");
        b.last = true;
    }
    return b;
}

}  // namespace mta::smtp
