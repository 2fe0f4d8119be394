#include "aliases.hpp"

#include "ascii.hpp"
#include "status.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mta::aliases {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (blank(s.front()) || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (blank(s.back()) || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

// Logical lines: physical lines joined when the next one starts with white
// space or the previous one ends with a backslash. Comment and empty lines
// are dropped (and do not end an entry). Each comes with its first line number.
std::vector<std::pair<std::string, int>> logical_lines(std::string_view text) {
    std::vector<std::pair<std::string, int>> out;
    bool joining = false;  // the previous line ended with a backslash
    int n = 0;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++n;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::string_view t = trim(line);
        if (t.empty() || t.front() == '#') continue;
        bool cont = joining || blank(line.front());
        bool ends_bs = line.back() == '\\';
        if (ends_bs) line.remove_suffix(1);
        if (cont && !out.empty()) {
            out.back().first += ' ';
            out.back().first += trim(line);
        } else {
            out.emplace_back(std::string(line), n);
        }
        joining = ends_bs;
    }
    return out;
}

[[noreturn]] void bad(const std::string& origin, int line, const std::string& what) {
    throw Error::config(origin + ":" + std::to_string(line) + ": " + what);
}

}  // namespace

std::vector<std::string> split_values(std::string_view rhs) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false, any_quote = false;
    auto finish = [&] {
        std::string_view t = trim(cur);
        if (!t.empty() || any_quote) out.emplace_back(t);
        cur.clear();
        any_quote = false;
    };
    bool line_start = true;
    for (size_t i = 0; i < rhs.size(); ++i) {
        char c = rhs[i];
        if (line_start && !quoted) {
            // A comment line (in .forward and :include: files).
            size_t j = i;
            while (j < rhs.size() && blank(rhs[j])) ++j;
            if (j < rhs.size() && rhs[j] == '#') {
                auto nl = rhs.find('\n', j);
                if (nl == std::string_view::npos) break;
                i = nl;
                continue;
            }
            line_start = false;
        }
        if (quoted && (c == '\n' || c == '\r')) {
            // A value never spans lines: a quote left open is an error, not
            // a licence to swallow the next lines into a command.
            throw Error::config("unterminated quote");
        }
        if (c == '"') {
            quoted = !quoted;
            any_quote = true;
        } else if (c == '\\' && quoted && i + 1 < rhs.size() && rhs[i + 1] == '"') {
            cur += '"';
            ++i;
        } else if (!quoted && (c == ',' || c == '\n')) {
            finish();
            if (c == '\n') line_start = true;
        } else {
            cur += c;
        }
    }
    if (quoted) throw Error::config("unterminated quote");
    finish();
    return out;
}

std::vector<Entry> parse(std::string_view text, const std::string& origin) {
    std::vector<Entry> out;
    for (auto& [line, n] : logical_lines(text)) {
        std::string_view l = line;
        Entry e;
        e.line = n;
        size_t colon;
        if (l.front() == '"') {
            auto q = l.find('"', 1);
            if (q == std::string_view::npos) bad(origin, n, "unterminated quoted name");
            e.name = ascii::lower(l.substr(1, q - 1));
            colon = l.find_first_not_of(" \t", q + 1);
            if (colon == std::string_view::npos || l[colon] != ':') bad(origin, n, "missing ':' after the name");
        } else {
            colon = l.find(':');
            if (colon == std::string_view::npos) bad(origin, n, "missing ':' after the name");
            e.name = ascii::lower(trim(l.substr(0, colon)));
            for (char c : e.name)
                if (blank(c)) bad(origin, n, "white space in name (quote it)");
        }
        if (e.name.empty()) bad(origin, n, "empty name");
        e.values = split_values(l.substr(colon + 1));
        if (e.values.empty()) bad(origin, n, "no value for " + e.name);
        for (auto& v : e.values) {
            try {
                classify(v);
            } catch (const Error& err) {
                bad(origin, n, err.status().text);
            }
        }
        out.push_back(std::move(e));
    }
    return out;
}

Target classify(std::string_view v) {
    v = trim(v);
    if (v.empty()) throw Error::config("empty value");
    if (v.front() == '|') {
        auto cmd = trim(v.substr(1));
        if (cmd.empty()) throw Error::config("empty command");
        return {Kind::command, std::string(cmd)};
    }
    if (v.substr(0, 9) == ":include:") {
        auto p = trim(v.substr(9));
        if (p.empty() || p.front() != '/') throw Error::config(":include: needs an absolute path");
        return {Kind::include, std::string(p)};
    }
    if (v.front() == '/') return {v.back() == '/' ? Kind::maildir : Kind::file, std::string(v)};
    if (v.substr(0, 6) == "error:") {
        auto t = trim(v.substr(6));
        auto sp = t.find(' ');
        if (!is_enhanced_code(t.substr(0, sp)) || t[0] == '2')
            throw Error::config("error: needs a 4.x.x or 5.x.x code");
        return {Kind::error, std::string(t)};
    }
    if (v.front() == '\\') {
        auto name = v.substr(1);
        if (name.empty() || name.find_first_of(" \t@/|") != std::string_view::npos)
            throw Error::config("bad user name after '\\': " + std::string(v));
        return {Kind::mailbox, std::string(name)};
    }
    if (v.find('@') != std::string_view::npos) return {Kind::address, std::string(v)};
    if (v.find_first_of(" \t") != std::string_view::npos)
        throw Error::config("white space in a name (quote commands, start them with '|'): " + std::string(v));
    return {Kind::name, std::string(v)};
}

Table Table::from_text(std::string_view text, const std::string& origin) {
    Table t;
    t.path_ = origin;
    for (auto& e : parse(text, origin)) {
        auto it = t.entries_.find(e.name);
        if (it == t.entries_.end()) {
            t.entries_.emplace(e.name, std::move(e));
        } else {
            // A name given twice: the values add up (as newaliases merges them).
            for (auto& v : e.values) it->second.values.push_back(std::move(v));
        }
    }
    return t;
}

Table Table::load(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) {
            Table t;
            t.path_ = path;
            return t;
        }
        throw Error::config("cannot read " + path + ": " + std::strerror(errno));
    }
    struct stat st;
    std::string text;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error::config(path + " is not a regular file");
    }
    char buf[8192];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
    int err = errno;
    ::close(fd);
    if (n < 0) throw Error::config("cannot read " + path + ": " + std::strerror(err));
    Table t = from_text(text, path);
    t.uid_ = st.st_uid;
    t.gid_ = st.st_gid;
    return t;
}

const Entry* Table::find(std::string_view name) const {
    auto it = entries_.find(ascii::lower(name));
    return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace mta::aliases
