// smtp_server: one SMTP connection served to its end.
//
// Glue between the world and the I/O-free Session: reads the PROXY header
// when the listener wants one, performs implicit TLS or STARTTLS, applies
// the per-command, per-data-block and whole-session deadlines, and stores
// messages in the spool (Spool::receive() → Incoming::commit() before 250).
#pragma once

#include "client_peer.hpp"
#include "config.hpp"
#include "relay_policy.hpp"
#include "smtp_session.hpp"
#include "tls_server.hpp"

#include <memory>
#include <string>
#include <vector>

namespace mta {

struct ServerSettings {
    config::Common common;
    smtp::SessionConfig session;          // limits; per-connection fields are filled in by serve()
    std::vector<Network> trusted_networks;
    std::vector<Network> proxy_from;      // who may send a PROXY header
    std::shared_ptr<TlsContext> tls;      // null: no STARTTLS, no implicit TLS
    std::string password_file;            // "": no AUTH
    int command_timeout = 300;            // seconds waiting for a command
    int data_timeout = 180;               // seconds waiting for each data block
    int session_timeout = 1800;           // seconds for the whole session
    int proxy_timeout = 5;                // seconds for the PROXY header
    bool lookup_names = true;             // reverse DNS for logs and Received
};

struct ListenerOptions {
    bool implicit_tls = false;  // 465: TLS before the greeting
    bool proxy = false;         // a PROXY header comes first
};

// Serves one session on rfd/wfd; returns the exit code for the process.
int serve(int rfd, int wfd, Peer peer, const ServerSettings& s, ListenerOptions o);

// sendmail -bs: one session on stdin/stdout for the invoking local user.
int serve_local(const ServerSettings& s);

}  // namespace mta
