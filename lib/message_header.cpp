#include "message_header.hpp"

#include "address.hpp"
#include "ascii.hpp"
#include "status.hpp"

#include <cctype>

namespace mta {

namespace {

bool is_atext(unsigned char c) {
    if (c >= 0x80) return true;  // RFC 6532: UTF-8 in atoms
    if (std::isalnum(c)) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(char(c)) != std::string_view::npos;
}

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

[[noreturn]] void bad(std::string_view list, std::string why) {
    std::string shown(list.substr(0, 200));
    for (char& c : shown)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    throw Error::data("bad address list '" + shown + "': " + why);
}

// ---- tokens of an address list ----

enum class Tok { atom, quoted, literal, special, end };

struct Token {
    Tok kind = Tok::end;
    std::string text;  // atom text, quoted content (unescaped), literal with brackets, or the special
};

class Lexer {
public:
    explicit Lexer(std::string_view s) : s_(s), all_(s) {}

    Token next() {
        skip_cfws();
        Token t;
        if (s_.empty()) return t;
        char c = s_[0];
        if (c == '"') {
            t.kind = Tok::quoted;
            s_.remove_prefix(1);
            while (true) {
                if (s_.empty()) bad(all_, "unterminated quoted string");
                char q = s_[0];
                s_.remove_prefix(1);
                if (q == '"') break;
                if (q == '\\') {
                    if (s_.empty()) bad(all_, "unterminated quoted string");
                    q = s_[0];
                    if (q == '\r' || q == '\n') bad(all_, "line break in a quoted string");
                    s_.remove_prefix(1);
                } else if (q == '\0') {
                    bad(all_, "NUL in a quoted string");
                } else if (q == '\r' || q == '\n') {
                    // Folding (CRLF or LF, then white space) is allowed; a
                    // bare CR or LF is in no RFC 5322 address.
                    if (q == '\r' && !s_.empty() && s_[0] == '\n') s_.remove_prefix(1);
                    if (s_.empty() || (s_[0] != ' ' && s_[0] != '\t')) bad(all_, "bare CR or LF in a quoted string");
                    continue;
                }
                t.text += q;
            }
            return t;
        }
        if (c == '[') {
            t.kind = Tok::literal;
            auto close = s_.find(']');
            if (close == std::string_view::npos) bad(all_, "unterminated domain literal");
            for (char ch : s_.substr(0, close + 1))
                if (!is_wsp(ch)) t.text += ch;
            s_.remove_prefix(close + 1);
            return t;
        }
        if (is_atext(static_cast<unsigned char>(c))) {
            t.kind = Tok::atom;
            while (!s_.empty() && is_atext(static_cast<unsigned char>(s_[0]))) {
                t.text += s_[0];
                s_.remove_prefix(1);
            }
            return t;
        }
        if (std::string_view("<>@,;:.").find(c) != std::string_view::npos) {
            t.kind = Tok::special;
            t.text = std::string(1, c);
            s_.remove_prefix(1);
            return t;
        }
        bad(all_, std::string("unexpected character '") + c + "'");
    }

private:
    void skip_cfws() {
        while (!s_.empty()) {
            if (is_wsp(s_[0])) {
                s_.remove_prefix(1);
            } else if (s_[0] == '(') {
                int depth = 0;
                while (true) {
                    if (s_.empty()) bad(all_, "unterminated comment");
                    char c = s_[0];
                    s_.remove_prefix(1);
                    if (c == '\\') {
                        if (!s_.empty()) s_.remove_prefix(1);
                    } else if (c == '(') {
                        ++depth;
                    } else if (c == ')') {
                        if (--depth == 0) break;
                    }
                }
            } else {
                break;
            }
        }
    }

    std::string_view s_;
    std::string_view all_;
};

class ListParser {
public:
    explicit ListParser(std::string_view s) : lex_(s), all_(s) { advance(); }

    std::vector<Mailbox> list() {
        std::vector<Mailbox> out;
        while (t_.kind != Tok::end) {
            if (is(",")) {
                advance();
                continue;
            }
            address(out);
            if (t_.kind == Tok::end) break;
            if (!is(",")) bad(all_, "expected ',' before '" + t_.text + "'");
            advance();
        }
        return out;
    }

private:
    bool is(std::string_view special) const { return t_.kind == Tok::special && t_.text == special; }
    void advance() { t_ = lex_.next(); }

    // A display name or a local part: words (atoms, quoted strings) and
    // dots, as far as they go. Returns the words; dots are kept as ".".
    std::vector<Token> words() {
        std::vector<Token> w;
        while (t_.kind == Tok::atom || t_.kind == Tok::quoted || is(".")) {
            w.push_back(t_);
            advance();
        }
        return w;
    }

    static std::string phrase(const std::vector<Token>& w) {
        std::string out;
        for (auto& t : w) {
            if (!out.empty() && t.text != ".") out += ' ';
            out += t.text;
        }
        return out;
    }

    // The local part from its words: "a.b", "\"a b\"" or obs-local-part.
    std::string local_part(const std::vector<Token>& w) {
        if (w.empty()) bad(all_, "missing local part");
        std::string value;
        bool expect_word = true;
        for (auto& t : w) {
            bool dot = t.kind == Tok::special;
            if (dot == expect_word) bad(all_, "misplaced '.' or missing ',' in an address");
            value += t.text;
            expect_word = dot;
        }
        if (expect_word) bad(all_, "local part ends with '.'");
        if (is_dot_string(value, true)) return value;
        std::string q = "\"";
        for (char c : value) {
            if (c == '"' || c == '\\') q += '\\';
            q += c;
        }
        return q + "\"";
    }

    std::string domain() {
        if (t_.kind == Tok::literal) {
            std::string d = t_.text;
            advance();
            return d;
        }
        std::string d;
        bool expect_word = true;
        while (t_.kind == Tok::atom || is(".")) {
            bool dot = t_.kind == Tok::special;
            if (dot == expect_word) bad(all_, "misplaced '.' in a domain");
            d += t_.text;
            expect_word = dot;
            advance();
        }
        if (d.empty() || expect_word) bad(all_, "missing or incomplete domain");
        return d;
    }

    // addr-spec after its local part's words have been read.
    std::string addr_spec(const std::vector<Token>& w) {
        std::string local = local_part(w);
        if (!is("@")) return local;  // a local name, qualified later
        advance();
        return local + "@" + domain();
    }

    // "<" [obs-route] addr-spec ">" with "<" already current.
    std::string angle_addr() {
        advance();
        if (is(">")) bad(all_, "empty address <>");
        if (is("@")) {  // obs-route: @a,@b: — accepted and dropped
            while (t_.kind != Tok::end && !is(":")) advance();
            if (!is(":")) bad(all_, "bad source route");
            advance();
        }
        std::string a = addr_spec(words());
        if (!is(">")) bad(all_, "missing '>'");
        advance();
        return a;
    }

    void mailbox_after_words(std::vector<Token> w, std::vector<Mailbox>& out) {
        if (is("<")) {
            Mailbox m;
            m.display_name = phrase(w);
            m.address = angle_addr();
            out.push_back(std::move(m));
            return;
        }
        Mailbox m;
        m.address = addr_spec(w);
        out.push_back(std::move(m));
    }

    void address(std::vector<Mailbox>& out) {
        std::vector<Token> w = words();
        if (is(":")) {  // a group
            if (w.empty()) bad(all_, "group without a name");
            advance();
            while (t_.kind != Tok::end && !is(";")) {
                if (is(",")) {
                    advance();
                    continue;
                }
                mailbox_after_words(words(), out);
                if (!is(",") && !is(";") && t_.kind != Tok::end) bad(all_, "expected ',' or ';' in a group");
            }
            if (is(";")) advance();  // a missing ';' at the end is forgiven
            return;
        }
        if (w.empty() && !is("<")) bad(all_, "expected an address, found '" + t_.text + "'");
        mailbox_after_words(std::move(w), out);
    }

    Lexer lex_;
    std::string_view all_;
    Token t_;
};

std::string base64(std::string_view in) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += a[v >> 18 & 63];
        out += a[v >> 12 & 63];
        out += a[v >> 6 & 63];
        out += a[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16;
        out += a[v >> 18 & 63];
        out += a[v >> 12 & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += a[v >> 18 & 63];
        out += a[v >> 12 & 63];
        out += a[v >> 6 & 63];
        out += '=';
    }
    return out;
}

}  // namespace

bool same_name(std::string_view a, std::string_view b) { return ascii::iequal(a, b); }

std::string unfold(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
        if (s[i] == '\n' && i + 1 < s.size() && (s[i + 1] == ' ' || s[i + 1] == '\t')) continue;
        out += s[i];
    }
    return out;
}

std::string HeaderField::value() const {
    std::string v = unfold(std::string_view(raw).substr(name.size() + 1));
    size_t b = v.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    size_t e = v.find_last_not_of(" \t\r\n");
    return v.substr(b, e - b + 1);
}

bool MessageHeader::is_field_start(std::string_view line) {
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    for (size_t i = 0; i < colon; ++i) {
        unsigned char c = line[i];
        if (c < 33 || c > 126) return false;
    }
    return true;
}

void MessageHeader::add_line(std::string_view line) {
    if (is_continuation(line) && !fields_.empty()) {
        fields_.back().raw.append(line);
        fields_.back().raw += '\n';
        return;
    }
    if (!is_field_start(line)) throw Error::data("not a header field: " + std::string(line.substr(0, 80)));
    HeaderField f;
    f.name = std::string(line.substr(0, line.find(':')));
    f.raw = std::string(line);
    f.raw += '\n';
    fields_.push_back(std::move(f));
}

MessageHeader MessageHeader::parse(std::string_view block) {
    MessageHeader h;
    while (!block.empty()) {
        auto nl = block.find('\n');
        std::string_view line = block.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        h.add_line(line);
        if (nl == std::string_view::npos) break;
        block.remove_prefix(nl + 1);
    }
    return h;
}

bool MessageHeader::has(std::string_view name) const {
    for (auto& f : fields_)
        if (same_name(f.name, name)) return true;
    return false;
}

std::vector<std::string> MessageHeader::values(std::string_view name) const {
    std::vector<std::string> out;
    for (auto& f : fields_)
        if (same_name(f.name, name)) out.push_back(f.value());
    return out;
}

size_t MessageHeader::remove(std::string_view name) {
    size_t before = fields_.size();
    std::erase_if(fields_, [&](const HeaderField& f) { return same_name(f.name, name); });
    return before - fields_.size();
}

void MessageHeader::append(std::string_view name, std::string_view value) {
    fields_.push_back({std::string(name), std::string(name) + ": " + std::string(value) + "\n"});
}

void MessageHeader::prepend(std::string_view name, std::string_view value) {
    fields_.insert(fields_.begin(), {std::string(name), std::string(name) + ": " + std::string(value) + "\n"});
}

size_t MessageHeader::bytes() const {
    size_t n = 0;
    for (auto& f : fields_) n += f.raw.size();
    return n;
}

std::string MessageHeader::str() const {
    std::string out;
    out.reserve(bytes());
    for (auto& f : fields_) out += f.raw;
    return out;
}

std::vector<Mailbox> parse_address_list(std::string_view value) { return ListParser(value).list(); }

std::string encode_phrase(std::string_view name) {
    bool ascii = true, atoms = !name.empty();
    for (unsigned char c : name) {
        if (c >= 0x80) ascii = false;
        if (c < 32 || c == 127) ascii = false;
        if (!(is_atext(c) || c == ' ')) atoms = false;
    }
    if (!ascii) return "=?UTF-8?B?" + base64(name) + "?=";
    if (atoms && name.front() != ' ' && name.back() != ' ') return std::string(name);
    std::string q = "\"";
    for (char c : name) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q + "\"";
}

}  // namespace mta
