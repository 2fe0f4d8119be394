#include "virtual_table.hpp"

#include "aliases.hpp"
#include "ascii.hpp"
#include "status.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace mta::virtual_table {

namespace {

[[noreturn]] void bad(const std::string& origin, int line, const std::string& what) {
    throw Error::config(origin + ":" + std::to_string(line) + ": " + what);
}

template <typename T>
bool number(std::string_view s, T& out) {
    unsigned long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return false;
    out = T(v);
    return true;
}

}  // namespace

Table Table::from_text(std::string_view text, const std::string& base, const std::string& origin) {
    Table t;
    std::istringstream in{std::string(text)};
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        auto hash = line.find('#');
        if (hash != std::string::npos) line.erase(hash);
        std::istringstream f(line);
        std::string key, dest, owner, extra;
        if (!(f >> key)) continue;
        if (!(f >> dest)) bad(origin, n, "no destination for " + key);
        f >> owner;
        if (f >> extra) bad(origin, n, "too many fields");
        Entry e;
        e.key = ascii::lower(key);
        e.line = n;
        auto at = e.key.find('@');
        if (at == std::string::npos || at + 1 == e.key.size()) bad(origin, n, "key must be user@domain or @domain");
        if (dest.rfind("lmtp:", 0) == 0) {
            e.kind = Kind::lmtp;
            e.destination = dest.substr(5);
            if (e.destination.rfind("unix:/", 0) != 0 && e.destination.rfind("inet:", 0) != 0)
                bad(origin, n, "lmtp: needs unix:/path or inet:host:port");
        } else {
            e.kind = dest.back() == '/' ? Kind::maildir : Kind::mbox;
            e.destination = dest[0] == '/' ? dest : base + "/" + dest;
            if (dest.find("/../") != std::string::npos || dest.rfind("../", 0) == 0)
                bad(origin, n, "'..' in a mailbox path");
        }
        if (!owner.empty()) {
            auto colon = owner.find(':');
            uid_t u;
            gid_t g;
            if (colon == std::string::npos || !number(std::string_view(owner).substr(0, colon), u) ||
                !number(std::string_view(owner).substr(colon + 1), g))
                bad(origin, n, "owner must be uid:gid");
            if (u == 0) bad(origin, n, "a virtual mailbox may not belong to root");
            e.uid = u;
            e.gid = g;
        }
        t.entries_.push_back(std::move(e));
    }
    return t;
}

Table Table::load(const std::string& path, const std::string& base) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return {};
        throw Error::config("cannot read " + path + ": " + std::strerror(errno));
    }
    struct stat st;
    ::fstat(fd, &st);
    std::string text;
    char buf[8192];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
    ::close(fd);
    Table t = from_text(text, base, path);
    t.uid_ = st.st_uid;
    t.gid_ = st.st_gid;
    return t;
}

const Entry* Table::find_exact(std::string_view address) const {
    std::string a = ascii::lower(address);
    for (auto& e : entries_)
        if (e.key == a) return &e;
    return nullptr;
}

const Entry* Table::find(std::string_view address) const {
    if (auto e = find_exact(address)) return e;
    std::string a = ascii::lower(address);
    auto at = a.rfind('@');
    if (at == std::string::npos) return nullptr;
    std::string catch_all = a.substr(at);
    for (auto& e : entries_)
        if (e.key == catch_all) return &e;
    return nullptr;
}

bool Table::has_domain(std::string_view domain) const {
    std::string d = "@" + ascii::lower(domain);
    for (auto& e : entries_)
        if (e.key.size() >= d.size() && e.key.compare(e.key.size() - d.size(), d.size(), d) == 0) return true;
    return false;
}

}  // namespace mta::virtual_table
