#include "aliases_syntax.hpp"

#include "status.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mta {

namespace {

struct Logical {
    size_t line = 0;  // where it starts
    std::string text;
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

void check_entry(const Logical& l, std::string_view file, AliasesCheck& out) {
    auto err = [&](std::string what) {
        out.errors.push_back(std::string(file) + ":" + std::to_string(l.line) + ": " + what);
    };
    std::string_view s = l.text;
    std::string_view name;
    size_t i = 0;
    if (!s.empty() && s[0] == '"') {
        auto close = s.find('"', 1);
        if (close == std::string_view::npos) return err("unterminated quoted name");
        name = s.substr(1, close - 1);
        i = close + 1;
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        if (i >= s.size() || s[i] != ':') return err("missing ':' after the name");
    } else {
        i = s.find(':');
        if (i == std::string_view::npos) return err("missing ':' after the name");
        name = trim(s.substr(0, i));
        if (name.find_first_of(" \t") != std::string_view::npos)
            return err("name with white space must be quoted");
    }
    if (name.empty()) return err("empty name");
    // The values: comma-separated, quotes protect commas.
    std::string_view rest = s.substr(i + 1);
    size_t values = 0;
    bool quoted = false;
    std::string cur;
    auto flush = [&] {
        if (!trim(cur).empty()) ++values;
        cur.clear();
    };
    for (char c : rest) {
        if (c == '"') quoted = !quoted;
        if (c == ',' && !quoted) {
            flush();
            continue;
        }
        cur += c;
    }
    if (quoted) return err("unterminated quoted value");
    flush();
    if (values == 0) return err("alias '" + std::string(name) + "' has no value");
    ++out.entries;
}

}  // namespace

AliasesCheck check_aliases_text(std::string_view text, std::string_view file) {
    AliasesCheck out;
    std::vector<Logical> lines;
    size_t n = 0;
    bool continued = false;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++n;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        bool next_continues = !line.empty() && line.back() == '\\';
        if (next_continues) line.remove_suffix(1);
        std::string_view t = trim(line);
        if (!continued && (t.empty() || t[0] == '#')) {
            continued = false;
            continue;
        }
        if ((continued || line[0] == ' ' || line[0] == '\t') && !lines.empty()) {
            if (!t.empty() && t[0] != '#') lines.back().text += " " + std::string(t);
        } else if (line[0] == ' ' || line[0] == '\t') {
            out.errors.push_back(std::string(file) + ":" + std::to_string(n) + ": continuation line without an entry");
        } else {
            lines.push_back({n, std::string(t)});
        }
        continued = next_continues;
    }
    for (auto& l : lines) check_entry(l, file, out);
    return out;
}

AliasesCheck check_aliases_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) return {};
        throw Error::config("cannot read " + path + ": " + std::strerror(errno));
    }
    std::ostringstream s;
    s << in.rdbuf();
    return check_aliases_text(s.str(), path);
}

}  // namespace mta
