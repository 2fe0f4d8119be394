#include "smtp_reply.hpp"

namespace mta {

namespace {

Error malformed(std::string what) {
    return Error(Status::temporary(451, "4.5.0", "malformed reply from server: " + what));
}

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 60)) {
        unsigned char u = static_cast<unsigned char>(c);
        out.push_back(u < 32 || u == 127 ? '?' : c);
    }
    if (s.size() > 60) out += "...";
    return out;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string SmtpReply::enhanced() const {
    if (lines.empty()) return "";
    std::string_view t = lines[0];
    auto sp = t.find(' ');
    std::string_view word = t.substr(0, sp);
    if (!is_enhanced_code(word)) return "";
    if (word[0] != char('0' + code / 100)) return "";
    return std::string(word);
}

std::string SmtpReply::text() const {
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i) out += ' ';
        out += lines[i];
    }
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 32 || c == 127) c = ' ';
    return out;
}

std::string SmtpReply::one_line() const {
    std::string t = text();
    return t.empty() ? std::to_string(code) : std::to_string(code) + " " + t;
}

Status SmtpReply::status(std::string_view fallback) const {
    std::string e = enhanced();
    if (e.empty()) {
        e = std::string(fallback);
        if (e.size() < 5) e = "X.0.0";
    }
    char cls = code >= 500 ? '5' : code >= 400 ? '4' : '2';
    e[0] = cls;
    std::string t = text();
    // The text without the enhanced code the reply started with.
    std::string ours = enhanced();
    if (!ours.empty() && t.compare(0, ours.size(), ours) == 0) {
        t.erase(0, ours.size());
        if (!t.empty() && t[0] == ' ') t.erase(0, 1);
    }
    Status s;
    s.outcome = cls == '2' ? Outcome::ok : cls == '4' ? Outcome::temporary : Outcome::permanent;
    s.code = code;
    s.enhanced = e;
    s.text = t;
    return s;
}

std::optional<SmtpReply> SmtpReplyParser::feed(std::string_view line) {
    if (line.size() > max_line) {
        reply_ = SmtpReply();
        throw malformed("line longer than " + std::to_string(max_line) + " bytes");
    }
    if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) || line[0] < '2' ||
        line[0] > '5' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        reply_ = SmtpReply();
        throw malformed("\"" + printable(line) + "\"");
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!reply_.lines.empty() && code != reply_.code) {
        reply_ = SmtpReply();
        throw malformed("reply code changed within a multi-line reply");
    }
    if (reply_.lines.size() >= max_lines) {
        reply_ = SmtpReply();
        throw malformed("more than " + std::to_string(max_lines) + " lines");
    }
    reply_.code = code;
    reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    if (line.size() > 3 && line[3] == '-') return std::nullopt;
    SmtpReply done = std::move(reply_);
    reply_ = SmtpReply();
    return done;
}

SmtpReply parse_smtp_reply(std::string_view text) {
    SmtpReplyParser p;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (auto r = p.feed(line)) {
            if (!text.empty()) throw malformed("data after the last line");
            return *r;
        }
    }
    throw malformed("reply ends without a last line");
}

}  // namespace mta
