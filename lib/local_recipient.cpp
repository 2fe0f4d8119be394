#include "local_recipient.hpp"

#include "config.hpp"

#include <cstdio>
#include <cstdlib>
#include <pwd.h>
#include <vector>

namespace mta::local_recipient {

namespace {

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return s;
}

bool alias_defined(const std::string& path, const std::string& name) {
    // read_lines trims leading blanks, so read the raw lines here: a line
    // that starts with white space continues the previous entry.
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return false;
    char* buf = nullptr;
    size_t cap = 0;
    bool found = false;
    while (!found && getline(&buf, &cap, f) > 0) {
        std::string l = buf;
        if (l.empty() || l[0] == ' ' || l[0] == '\t' || l[0] == '#' || l[0] == '\n') continue;
        std::string key;
        if (l[0] == '"') {
            auto q = l.find('"', 1);
            if (q == std::string::npos) continue;
            key = l.substr(1, q - 1);
        } else {
            auto colon = l.find(':');
            if (colon == std::string::npos) continue;
            key = l.substr(0, colon);
            while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
        }
        found = lower(key) == name;
    }
    std::free(buf);
    std::fclose(f);
    return found;
}

bool virtual_defined(const std::string& path, const std::string& address, const std::string& domain) {
    for (auto& line : config::read_lines(path)) {
        std::string key = lower(line.substr(0, line.find_first_of(" \t")));
        if (key == address || key == "@" + domain) return true;
    }
    return false;
}

bool one(const Tables& t, const std::string& local, const std::string& domain) {
    std::string l = lower(local);
    if (l == "postmaster") return true;
    if (alias_defined(t.aliases, l)) return true;
    if (!domain.empty() && virtual_defined(t.virtual_table, l + "@" + domain, domain)) return true;
    if (t.system_users && getpwnam(local.c_str()) != nullptr) return true;
    return false;
}

}  // namespace

Tables default_tables(const config::Common& c) {
    return Tables{c.table("aliases"), c.table("virtual"), "+", true};
}

std::string base_local_part(const std::string& local, const std::string& delimiter) {
    if (delimiter.empty()) return local;
    auto p = local.find_first_of(delimiter);
    return p == std::string::npos || p == 0 ? local : local.substr(0, p);
}

bool exists(const Tables& t, const Address& a) {
    if (one(t, a.local(), a.domain().str())) return true;
    std::string base = base_local_part(a.local(), t.delimiter);
    return base != a.local() && one(t, base, a.domain().str());
}

}  // namespace mta::local_recipient
