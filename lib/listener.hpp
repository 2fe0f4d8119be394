// listener: mta-recv as its own server (standalone or systemd Accept=no).
//
// Sockets come from --listen ADDR:PORT[,tls][,proxy] (IPv4 "192.0.2.1:25",
// IPv6 "[::1]:25", any address ":25") or from systemd (LISTEN_FDS and
// LISTEN_PID, no libsystemd). Each accepted connection is served by a
// worker process, which serves further connections after it
// (worker_pool.hpp). Beyond the total or per-client limit the parent answers
// 421 4.7.0 itself and closes. Privileges are dropped after binding.
#pragma once

#include "client_peer.hpp"
#include "smtp_server.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mta::listener {

struct Spec {
    std::string address;  // "" for any
    int port = 0;
    ListenerOptions options;
};

// Throws Error (usage) on a malformed spec.
Spec parse_spec(std::string_view s);

struct Socket {
    int fd = -1;
    ListenerOptions options;
    std::string name;  // "127.0.0.1:25"
};

// Binds and listens; throws Error (config) naming the address on failure.
Socket open(const Spec& s);

// The descriptors systemd passed (LISTEN_FDS, LISTEN_PID == getpid()),
// removed from the environment. Listening sockets go to `listening`, a
// connected one (Accept=yes without --inetd) to `connections`.
// Names: "smtps" (or local port 465) means implicit TLS.
bool from_systemd(std::vector<Socket>& listening, std::vector<int>& connections);

struct Limits {
    int max_connections = 100;
    int max_per_client = 10;
    int max_use = 100;   // sessions served by one process (worker_pool.hpp)
    int max_idle = 60;   // seconds an idle process is kept
    std::string hostname;  // for the 421 reply
};

using Handler = std::function<int(int fd, Peer peer, ListenerOptions o)>;

// Accepts until SIGTERM or SIGINT; each connection is served by a worker.
void run(const std::vector<Socket>& sockets, const Limits& l, const Handler& h);

// setgid/initgroups/setuid to the user; throws Error (config).
void drop_privileges(const std::string& user);

}  // namespace mta::listener
