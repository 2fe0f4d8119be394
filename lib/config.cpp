#include "config.hpp"

#include "ascii.hpp"
#include "cli/command.hpp"
#include "file_stamp.hpp"
#include "status.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <netdb.h>
#include <unistd.h>

namespace mta::config {

namespace {

std::string fqdn() {
    char host[HOST_NAME_MAX + 1] = {0};
    if (gethostname(host, sizeof host - 1) != 0) return "localhost";
    std::string h = host;
    if (h.find('.') == std::string::npos) {
        struct addrinfo hints = {}, *res = nullptr;
        hints.ai_flags = AI_CANONNAME;
        if (getaddrinfo(host, nullptr, &hints, &res) == 0 && res) {
            if (res->ai_canonname && std::string_view(res->ai_canonname).find('.') != std::string_view::npos)
                h = res->ai_canonname;
            freeaddrinfo(res);
        }
    }
    return h;
}

bool trusted_environment() { return getuid() == geteuid() && getgid() == getegid(); }

}  // namespace

std::string default_root() {
    const char* r = trusted_environment() ? std::getenv("MTA_ROOT") : nullptr;
    std::string root = r && *r ? r : "mta-root";
    if (root[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) root = std::string(cwd) + "/" + root;
    }
    return root;
}

std::string default_config_file() {
    const char* r = trusted_environment() ? std::getenv("MTA_ROOT") : nullptr;
    if (r && *r) return default_root() + "/etc/mta.conf";
    return "/etc/mta/mta.conf";
}

std::string Common::table(std::string_view name) const { return etc + "/" + std::string(name); }

void attach(cli::Command& app, std::string_view tool, Common& c) {
    app.set_config("--config", default_config_file(),
                   "configuration file (INI: shared keys, then [" + std::string(tool) + "])", std::string(tool));
    app.add_option("--spool", c.spool, "queue directory (default: $MTA_ROOT/spool)");
    app.add_option("--etc", c.etc, "directory of tables (default: $MTA_ROOT/etc)");
    app.add_option("--hostname", c.hostname, "this host's name (default: the FQDN)");
    app.add_option("--log", c.log, "where to log: syslog, stderr or file:PATH")->capture_default_str();
    app.add_option("--local-domains", c.local_domains, "file of local domains (default: <etc>/local-domains)");
}

void finish(Common& c) {
    std::string root = default_root();
    if (c.spool.empty()) c.spool = root + "/spool";
    if (c.etc.empty()) c.etc = root + "/etc";
    if (c.hostname.empty()) c.hostname = fqdn();
    if (c.local_domains.empty()) c.local_domains = c.table("local-domains");
    if (c.log != "syslog" && c.log != "stderr" && c.log.rfind("file:", 0) != 0)
        throw Error::usage("--log must be syslog, stderr or file:PATH, not " + c.log);
}

std::vector<std::string> read_lines(const std::string& path) {
    std::vector<std::string> out;
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) return out;
        throw Error::config("cannot read " + path + ": " + std::strerror(errno));
    }
    std::string line;
    while (std::getline(in, line)) {
        auto hash = line.find('#');
        if (hash != std::string::npos) line.erase(hash);
        auto b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos) continue;
        auto e = line.find_last_not_of(" \t\r");
        out.push_back(line.substr(b, e - b + 1));
    }
    return out;
}

std::vector<std::string> local_domains(const Common& c) {
    auto lower = [](std::vector<std::string> d) {
        for (auto& s : d)
            s = ascii::lower(s);
        return d;
    };
    // Kept, in lower case, (in this thread) while the file's stamp stays
    // the same: mta-recv asks per session.
    struct Kept {
        std::string path;
        FileStamp stamp;
        std::vector<std::string> domains;
    };
    thread_local Kept kept;
    FileStamp stamp = file_stamp(c.local_domains);
    if (stamp.error != 0) return lower({c.hostname, "localhost"});
    if (kept.path != c.local_domains || !(kept.stamp == stamp)) {
        kept.domains = lower(read_lines(c.local_domains));
        kept.path = c.local_domains;
        kept.stamp = stamp;
    }
    return kept.domains;
}

}  // namespace mta::config
