// sendmail: the sendmail-compatible injection point (also mailq, newaliases).
//
// The command line is sendmail's own (lib/sendmail_options); the shared keys
// and [sendmail]'s come from the config file only. Set-uid to the spool
// owner, the program trusts nothing from its caller (lib/privilege).
#include "aliases.hpp"
#include "cli/command.hpp"
#include "config.hpp"
#include "local_submission.hpp"
#include "log.hpp"
#include "privilege.hpp"
#include "sendmail_options.hpp"
#include "spool.hpp"
#include "status.hpp"

#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace mta;

namespace {

std::string program = "sendmail";
bool log_open = false;

bool exists(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0;
}

struct Setup {
    config::Common common;
    std::string mailname;
    std::string config_file;  // passed on to the programs we exec ("" when none)
};

Setup load(const sendmail::Options& o) {
    Setup s;
    cli::Command app{"sendmail"};
    config::attach(app, "sendmail", s.common);
    app.add_option("--mailname", s.mailname, "domain of the default sender (default: /etc/mailname, else hostname)");
    std::string home;
    if (privilege::elevated()) {
        home = privilege::elevated_root();
        for (auto f : {home + "/etc/mta.conf", std::string("/etc/mta/mta.conf")})
            if (exists(f)) {
                s.config_file = f;
                break;
            }
    } else {
        s.config_file = o.config;
    }
    std::vector<std::string> args;  // CLI11 wants them reversed
    if (!s.config_file.empty()) args = {s.config_file, "--config"};
    try {
        app.parse(args);
    } catch (const cli::ParseError& e) {
        throw Error::config("configuration: " + std::string(e.what()));
    }
    if (!home.empty()) {
        // Keys the configuration leaves out: the spool is the home directory
        // when it is one (mta-setup's layout), else ~/spool; the tables are
        // next to the configuration file.
        if (s.common.spool.empty()) s.common.spool = exists(home + "/env") ? home : home + "/spool";
        if (s.common.etc.empty())
            s.common.etc = s.config_file.empty() ? home + "/etc" : s.config_file.substr(0, s.config_file.rfind('/'));
    }
    config::finish(s.common);
    if (s.mailname.empty()) s.mailname = read_mailname("/etc/mailname", s.common.hostname);
    return s;
}

// mta-queue list|run, mta-recv --local: the sibling program, told where
// the configuration and the spool are.
[[noreturn]] void run_sibling(const Setup& s, const std::string& name, std::vector<std::string> tail) {
    std::vector<std::string> args{name};
    if (!s.config_file.empty()) args.insert(args.end(), {"--config", s.config_file});
    args.insert(args.end(), {"--spool", s.common.spool, "--etc", s.common.etc});
    args.insert(args.end(), tail.begin(), tail.end());
    privilege::exec(privilege::sibling(name), args);
}

int submit(const sendmail::Options& o, const Setup& s) {
    LocalUser u;
    u.uid = getuid();
    u.login = privilege::real_login();
    u.hostname = s.common.hostname;
    u.mailname = s.mailname;
    if (const char* n = std::getenv("NAME")) u.name = n;
    Spool spool(s.common.spool);
    spool.create();
    // Every spool writer gives up within its lifetime (docs/spool.md): a
    // caller that never closes our input is cut off, nothing committed.
    ::alarm(unsigned(Spool::writer_lifetime));
    Submitted m = submit(o, u, spool, 0);
    ::alarm(0);
    log::info("{}: uid={} from={}", m.id.str(), u.uid, m.envelope.sender.path());
    log::info("{}: message-id={}", m.id.str(), m.message_id);
    if (o.verbose) std::fprintf(stderr, "%s: queued as %s\n", program.c_str(), m.id.str().c_str());
    return ex::ok;
}

int verify(const sendmail::Options& o, const Setup& s) {
    if (o.recipients.empty()) throw Error::usage("-bv needs addresses to check");
    for (auto& r : o.recipients)
        for (auto& a : parse_addresses(r, s.mailname)) std::printf("%s: address ok\n", a.path().c_str());
    return ex::ok;
}

// Our aliases are read as text by local delivery: nothing to compile, so
// newaliases checks that the file parses, as mta-deliver will parse it.
int newaliases(const sendmail::Options& o, const Setup& s) {
    std::string file = !o.alias_file.empty() && !privilege::elevated() ? o.alias_file : s.common.table("aliases");
    std::ifstream in(file, std::ios::binary);
    if (!in && errno != ENOENT) throw Error::config("cannot read " + file + ": " + std::strerror(errno));
    std::ostringstream text;
    if (in) text << in.rdbuf();
    auto entries = aliases::parse(text.str(), file);  // throws Error (config) naming the line
    std::printf("%s: %zu aliases\n", file.c_str(), entries.size());
    return ex::ok;
}

}  // namespace

int main(int argc, char** argv) {
    privilege::harden();
    if (argc > 0 && argv[0] && *argv[0]) {
        std::string a0 = argv[0];
        program = a0.substr(a0.rfind('/') + 1);
    }
    std::string uid = std::to_string(getuid());
    try {
        std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
        sendmail::Options o = sendmail::parse_options(argc > 0 ? argv[0] : "sendmail", args);
        Setup s = load(o);
        log::open("mta/pickup", s.common.log);
        log_open = true;
        switch (o.mode) {
        case sendmail::Mode::submit: return submit(o, s);
        case sendmail::Mode::verify: return verify(o, s);
        case sendmail::Mode::aliases: return newaliases(o, s);
        case sendmail::Mode::list: run_sibling(s, "mta-queue", {"list"});
        case sendmail::Mode::run_queue: run_sibling(s, "mta-queue", {"run"});
        case sendmail::Mode::smtp:
            Spool(s.common.spool).create();  // as for a message on stdin
            run_sibling(s, "mta-recv", {"--local"});
        }
        return ex::software;
    } catch (const Error& e) {
        std::fprintf(stderr, "%s: %s\n", program.c_str(), e.status().text.c_str());
        if (log_open) log::warning("uid={}: {}", uid, e.status().text);
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: internal error: %s\n", program.c_str(), e.what());
        if (log_open) log::error("uid={}: {}", uid, e.what());
        return ex::software;
    }
}
