// mta-recv: the SMTP server. Started by inetd, systemd, tcpserver, on its
// own (--listen), or by sendmail -bs (--local). See mta-recv(8).
#include "cli/command.hpp"
#include "client_peer.hpp"
#include "config.hpp"
#include "heap.hpp"
#include "listener.hpp"
#include "log.hpp"
#include "password_file.hpp"
#include "relay_policy.hpp"
#include "smtp_server.hpp"
#include "spool.hpp"
#include "status.hpp"
#include "tls_plugin.hpp"
#include "tls_server.hpp"

#include <cstdio>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

using namespace mta;

namespace {

// Log to stderr only when stderr is not the connection (inetd dup2s it).
std::string log_target(const std::string& wanted) {
    struct stat st;
    if (wanted == "stderr" && fstat(2, &st) == 0 && S_ISSOCK(st.st_mode)) return "syslog";
    return wanted;
}

int make_password(const std::string& user) {
    std::string password;
    if (isatty(0)) std::fprintf(stderr, "password for %s: ", user.c_str());
    if (!std::getline(std::cin, password)) throw Error::usage("no password on standard input");
    if (!password.empty() && password.back() == '\r') password.pop_back();
    std::cout << password_file::make_entry(user, password) << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    cli::Command app{"mta-recv: receive mail by SMTP and queue it"};
    config::Common common;
    ServerSettings st;
    std::vector<std::string> listen, trusted = {"127.0.0.0/8", "::1/128"}, proxy_from;
    std::string user, tls_cert, tls_key, make_password_user;
    bool local = false, implicit_tls = false, proxy = false;
    int max_connections = 100, max_per_client = 10, max_use = 100, max_idle = 60;
    std::uint64_t size_limit = 10 * 1024 * 1024;
    size_t rcpt_limit = 100;
    int error_limit = 20, hop_limit = 100;

    config::attach(app, "mta-recv", common);
    app.add_option("--listen", listen, "listen on ADDR:PORT[,tls][,proxy] (repeatable)");
    app.add_option("--user", user, "user to become after binding");
    app.add_option("--max-connections", max_connections, "sessions at once (standalone)")->capture_default_str();
    app.add_option("--max-per-client", max_per_client, "sessions at once from one address")->capture_default_str();
    app.add_option("--max-use", max_use, "sessions one process serves before it exits (standalone)")->capture_default_str();
    app.add_option("--max-idle", max_idle, "seconds an idle process waits for a session (standalone)")->capture_default_str();
    app.add_option("--message-size-limit", size_limit, "largest message in bytes")->capture_default_str();
    app.add_option("--recipient-limit", rcpt_limit, "recipients per message")->capture_default_str();
    app.add_option("--error-limit", error_limit, "error replies before 421 and close")->capture_default_str();
    app.add_option("--hop-limit", hop_limit, "Received fields that mean a mail loop")->capture_default_str();
    app.add_option("--command-timeout", st.command_timeout, "seconds to wait for a command")->capture_default_str();
    app.add_option("--data-timeout", st.data_timeout, "seconds to wait for each block of data")->capture_default_str();
    app.add_option("--session-timeout", st.session_timeout, "seconds for a whole session")->capture_default_str();
    app.add_option("--trusted-networks", trusted, "networks that may relay")->capture_default_str();
    app.add_option("--tls-cert", tls_cert, "PEM certificate chain (enables STARTTLS)");
    app.add_option("--tls-key", tls_key, "PEM private key");
    app.add_flag("--implicit-tls", implicit_tls, "the connection on stdin starts with TLS (port 465)");
    app.add_flag("--proxy-protocol", proxy, "the connection on stdin or from systemd starts with a PROXY header");
    app.add_option("--proxy-from", proxy_from, "addresses that may send PROXY headers");
    app.add_option("--password-file", st.password_file, "users for SMTP AUTH (enables AUTH)");
    app.add_option("--lookup-client-name", st.lookup_names, "reverse DNS lookup of clients")->capture_default_str();
    app.add_flag("--local", local, "sendmail -bs: SMTP on stdin/stdout for the local user");
    app.add_option("--make-password", make_password_user, "print a password file entry for USER (password on stdin)");

    try {
        if (auto rc = app.parse_command_line(argc, argv)) return *rc;
        config::finish(common);
        if (!make_password_user.empty()) return make_password(make_password_user);

        log::open(local ? "mta/pickup" : "mta/smtpd", log_target(common.log));
        // A worker serves one session after another (lib/heap.hpp).
        heap::keep_freed(4 << 20);
        st.common = common;
        st.session.hostname = common.hostname;
        st.session.max_message_size = size_limit;
        st.session.max_recipients = rcpt_limit;
        st.session.max_errors = error_limit;
        st.session.max_received = hop_limit;
        for (auto& n : trusted) st.trusted_networks.push_back(Network::parse(n));
        for (auto& n : proxy_from) st.proxy_from.push_back(Network::parse(n));
        if (tls_cert.empty() != tls_key.empty()) throw Error::config("--tls-cert and --tls-key go together");
        if (!tls_cert.empty() && !local) st.tls = TlsContext::load(tls_cert, tls_key);
        // AUTH checks passwords with the TLS plugin's PBKDF2: a missing
        // plugin is a start-up error, not a refused login later.
        if (!st.password_file.empty() && !local) tls::engine();
        Spool(common.spool).check();

        if (local) return serve_local(st);

        std::vector<listener::Socket> sockets;
        std::vector<int> connections;
        bool systemd = listener::from_systemd(sockets, connections);
        for (auto& s : sockets) s.options.proxy = s.options.proxy || proxy;
        for (auto& l : listen) sockets.push_back(listener::open(listener::parse_spec(l)));
        for (auto& s : sockets)
            if (s.options.implicit_tls && !st.tls) throw Error::config(s.name + " needs --tls-cert and --tls-key");
        if (implicit_tls && !st.tls) throw Error::config("--implicit-tls needs --tls-cert and --tls-key");
        if (!user.empty()) listener::drop_privileges(user);
        if (!sockets.empty()) {
            listener::Limits lim{max_connections, max_per_client, max_use, max_idle, common.hostname};
            listener::run(sockets, lim, [&](int fd, Peer peer, ListenerOptions o) { return serve(fd, fd, peer, st, o); });
            return 0;
        }
        ListenerOptions o{implicit_tls, proxy};
        if (systemd && !connections.empty()) return serve(connections[0], connections[0], peer_from_environment(connections[0]), st, o);
        // inetd, systemd Accept=yes, tcpserver: the connection is stdin/stdout.
        return serve(0, 1, peer_from_environment(0), st, o);
    } catch (const Error& e) {
        std::fprintf(stderr, "mta-recv: %s\n", e.what());
        log::error("{}", e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mta-recv: %s\n", e.what());
        return ex::software;
    }
}
