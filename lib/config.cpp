#include "config.hpp"

#include "status.hpp"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <netdb.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mta::config {

namespace {

// CLI11's INI reader, restricted to the shared keys and one tool's section.
class SectionedConfig : public CLI::ConfigINI {
public:
    explicit SectionedConfig(std::string tool) : tool_(std::move(tool)) {}

    std::vector<CLI::ConfigItem> from_config(std::istream& in) const override {
        std::vector<CLI::ConfigItem> shared, own;
        for (auto& item : CLI::ConfigINI::from_config(in)) {
            if (item.parents.empty()) {
                shared.push_back(item);
            } else if (item.parents.size() == 1 && item.parents[0] == tool_) {
                item.parents.clear();
                own.push_back(item);
            }
        }
        std::vector<CLI::ConfigItem> out;
        for (auto& s : shared) {
            bool overridden = false;
            for (auto& o : own) overridden = overridden || o.name == s.name;
            if (!overridden) out.push_back(s);
        }
        out.insert(out.end(), own.begin(), own.end());
        return out;
    }

private:
    std::string tool_;
};

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

void attach(CLI::App& app, std::string_view tool, Common& c) {
    app.config_formatter(std::make_shared<SectionedConfig>(std::string(tool)));
    app.allow_config_extras(CLI::config_extras_mode::ignore);
    app.set_config("--config", default_config_file(), "configuration file (INI: shared keys, then [" +
                                                          std::string(tool) + "])");
    app.add_option("--spool", c.spool, "queue directory (default: $MTA_ROOT/spool)");
    app.add_option("--etc", c.etc, "directory of tables (default: $MTA_ROOT/etc)");
    app.add_option("--hostname", c.hostname, "this host's name (default: the FQDN)");
    app.add_option("--log", c.log, "where to log: syslog, stderr or file:PATH")->capture_default_str();
    app.add_option("--local-domains", c.local_domains, "file of local domains (default: <etc>/local-domains)");
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::ParseError& e) {
        if (app.exit(e) == 0) return 0;
        bool config = dynamic_cast<const CLI::ConfigError*>(&e) || dynamic_cast<const CLI::FileError*>(&e);
        return config ? ex::config : ex::usage;
    }
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
    std::vector<std::string> d;
    struct stat st;
    if (::stat(c.local_domains.c_str(), &st) == 0) {
        d = read_lines(c.local_domains);
    } else {
        d = {c.hostname, "localhost"};
    }
    for (auto& s : d)
        for (char& ch : s)
            if (ch >= 'A' && ch <= 'Z') ch = char(ch - 'A' + 'a');
    return d;
}

}  // namespace mta::config
