#include "smtp_auth_client.hpp"

#include "base64.hpp"
#include "status.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mta {

namespace {

std::string trim(std::string_view s) {
    auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return "";
    auto e = s.find_last_not_of(" \t\r");
    return std::string(s.substr(b, e - b + 1));
}

Error refused(const SmtpReply& r) {
    return Error(Status::temporary(454, "4.7.8", "authentication failed: " + r.one_line()));
}

}  // namespace

std::string base64_encode(std::string_view s) { return base64::encode(s); }

std::optional<Credentials> find_credentials(std::string_view text, const std::string& name) {
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        std::string l = trim(line);
        if (l.empty() || l[0] == '#') continue;
        auto sp = l.find_first_of(" \t");
        if (sp == std::string::npos || l.substr(0, sp) != name) continue;
        std::string rest = trim(std::string_view(l).substr(sp));
        auto sp2 = rest.find_first_of(" \t");
        if (sp2 == std::string::npos) return std::nullopt;
        Credentials c{name, rest.substr(0, sp2), trim(std::string_view(rest).substr(sp2))};
        if (c.username.empty() || c.password.empty()) return std::nullopt;
        return c;
    }
    return std::nullopt;
}

Credentials load_credentials(const std::string& path, const std::string& name) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw Error::config("cannot open credentials file " + path + ": " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error::config("credentials file " + path + " is not a regular file");
    }
    if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
        ::close(fd);
        throw Error::config("credentials file " + path +
                            " must be owned by the mail user and readable by nobody else (mode 0600)");
    }
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
    ::close(fd);
    if (n < 0) throw Error::config("cannot read credentials file " + path);
    auto c = find_credentials(text, name);
    if (!c) throw Error::config("no usable entry " + name + " in credentials file " + path);
    return *c;
}

void authenticate(SmtpConnection& c, const std::vector<std::string>& offered, const Credentials& cred,
                  const SmtpTimeouts& t) {
    auto has = [&](std::string_view m) { return std::find(offered.begin(), offered.end(), m) != offered.end(); };
    const char* stage = "in reply to AUTH command";
    if (has("PLAIN")) {
        std::string token = std::string(1, '\0') + cred.username + std::string(1, '\0') + cred.password;
        SmtpReply r = c.command("AUTH PLAIN " + base64_encode(token), t.helo, stage);
        if (r.code != 235) throw refused(r);
        return;
    }
    if (has("LOGIN")) {
        SmtpReply r = c.command("AUTH LOGIN", t.helo, stage);
        if (r.code != 334) throw refused(r);
        r = c.command(base64_encode(cred.username), t.helo, stage);
        if (r.code != 334) throw refused(r);
        r = c.command(base64_encode(cred.password), t.helo, stage);
        if (r.code != 235) throw refused(r);
        return;
    }
    std::string list;
    for (auto& m : offered) list += (list.empty() ? "" : " ") + m;
    throw Error(Status::temporary(454, "4.7.0",
                                  "no shared AUTH mechanism (server offers: " + (list.empty() ? "none" : list) + ")"));
}

}  // namespace mta
