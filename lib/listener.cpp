#include "listener.hpp"

#include "connection.hpp"
#include "log.hpp"
#include "status.hpp"
#include "worker_pool.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mta::listener {

namespace {

volatile sig_atomic_t stop_requested = 0;
void on_stop(int) { stop_requested = 1; }
void on_child(int) {}

}  // namespace

Spec parse_spec(std::string_view s) {
    Spec spec;
    std::string_view addr = s.substr(0, s.find(','));
    std::string_view opts = addr.size() < s.size() ? s.substr(addr.size() + 1) : std::string_view();
    while (!opts.empty()) {
        auto o = opts.substr(0, opts.find(','));
        if (o == "tls") spec.options.implicit_tls = true;
        else if (o == "proxy") spec.options.proxy = true;
        else throw Error::usage("unknown listener option '" + std::string(o) + "' in " + std::string(s));
        opts = o.size() < opts.size() ? opts.substr(o.size() + 1) : std::string_view();
    }
    auto colon = addr.rfind(':');
    if (colon == std::string_view::npos) throw Error::usage("--listen needs ADDRESS:PORT, not " + std::string(s));
    std::string_view host = addr.substr(0, colon), port = addr.substr(colon + 1);
    if (!host.empty() && host.front() == '[') {
        if (host.back() != ']') throw Error::usage("bad address in " + std::string(s));
        host = host.substr(1, host.size() - 2);
    }
    int p = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p <= 0 || p > 65535)
        throw Error::usage("bad port in " + std::string(s));
    spec.address = std::string(host);
    spec.port = p;
    return spec;
}

Socket open(const Spec& s) {
    sockaddr_storage ss{};
    socklen_t len;
    int family;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
    std::string name = (s.address.find(':') != std::string::npos ? "[" + s.address + "]" : s.address) + ":" +
                       std::to_string(s.port);
    if (s.address.empty()) {
        family = AF_INET6;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_any;
        in6->sin6_port = htons(uint16_t(s.port));
        len = sizeof *in6;
    } else if (inet_pton(AF_INET, s.address.c_str(), &in4->sin_addr) == 1) {
        family = AF_INET;
        in4->sin_family = AF_INET;
        in4->sin_port = htons(uint16_t(s.port));
        len = sizeof *in4;
    } else if (inet_pton(AF_INET6, s.address.c_str(), &in6->sin6_addr) == 1) {
        family = AF_INET6;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(uint16_t(s.port));
        len = sizeof *in6;
    } else {
        throw Error::usage("--listen: not an IP address: " + s.address);
    }
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw Error::config("socket for " + name + ": " + std::strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) {
        int v6only = s.address.empty() ? 0 : 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 128) != 0) {
        int e = errno;
        ::close(fd);
        throw Error::config("cannot listen on " + name + ": " + std::strerror(e));
    }
    return Socket{fd, s.options, name};
}

bool from_systemd(std::vector<Socket>& listening, std::vector<int>& connections) {
    const char* pid = std::getenv("LISTEN_PID");
    const char* n = std::getenv("LISTEN_FDS");
    if (!pid || !n || std::atol(pid) != long(getpid())) return false;
    int count = std::atoi(n);
    std::string names = std::getenv("LISTEN_FDNAMES") ? std::getenv("LISTEN_FDNAMES") : "";
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    for (int i = 0; i < count && i < 64; ++i) {
        int fd = 3 + i;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        std::string name;
        {
            size_t start = 0;
            for (int k = 0; k < i && start != std::string::npos; ++k) {
                start = names.find(':', start);
                if (start != std::string::npos) ++start;
            }
            if (start != std::string::npos && start <= names.size()) name = names.substr(start, names.find(':', start) - start);
        }
        int acc = 0;
        socklen_t l = sizeof acc;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) == 0 && acc) {
            Socket s;
            s.fd = fd;
            s.name = name.empty() ? "fd " + std::to_string(fd) : name;
            Peer local = peer_from_socket(fd);
            s.options.implicit_tls = name == "smtps" || local.local_port == 465;
            listening.push_back(s);
        } else {
            connections.push_back(fd);
        }
    }
    return true;
}

void drop_privileges(const std::string& user) {
    struct passwd* pw = getpwnam(user.c_str());
    if (!pw) throw Error::config("--user: no such user: " + user);
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        throw Error::config("cannot become user " + user + ": " + std::strerror(errno));
    if (setuid(0) == 0 && pw->pw_uid != 0) throw Error::config("privileges not dropped");
}

void run(const std::vector<Socket>& sockets, const Limits& l, const Handler& h) {
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    WorkerPool pool(
        WorkerPool::Settings{l.max_use, l.max_idle},
        [&](int fd, int tag) { h(fd, peer_from_socket(fd), sockets[size_t(tag)].options); },
        [&] {
            struct sigaction dfl {};
            dfl.sa_handler = SIG_DFL;
            sigaction(SIGTERM, &dfl, nullptr);
            sigaction(SIGINT, &dfl, nullptr);
            sigaction(SIGCHLD, &dfl, nullptr);
            for (auto& s : sockets) ::close(s.fd);
        });
    for (auto& s : sockets) {
        int fl = fcntl(s.fd, F_GETFL);
        fcntl(s.fd, F_SETFL, fl | O_NONBLOCK);
        log::info("listening on {}{}{}", s.name, s.options.implicit_tls ? " (TLS)" : "", s.options.proxy ? " (PROXY)" : "");
    }
    std::vector<pollfd> pfds;
    while (!stop_requested) {
        pool.tidy(monotonic_ms());
        pfds.clear();
        for (auto& s : sockets) pfds.push_back({s.fd, POLLIN, 0});
        pool.add_pollfds(pfds);
        int r = ::poll(pfds.data(), pfds.size(), 1000);
        if (r <= 0) continue;
        pool.handle(pfds, sockets.size());  // sessions that ended
        for (size_t i = 0; i < sockets.size(); ++i) {
            if (!(pfds[i].revents & POLLIN)) continue;
            sockaddr_storage ss{};
            socklen_t len = sizeof ss;
            int c = ::accept4(pfds[i].fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
            if (c < 0) continue;
            Peer peer = peer_from_socket(c);
            const char* why = nullptr;
            if (pool.busy() >= l.max_connections) why = "too many connections";
            else if (!sockets[i].options.proxy && pool.busy_for(peer.ip) >= l.max_per_client)
                why = "too many connections from your address";
            if (why) {
                std::string line = "421 4.7.0 " + l.hostname + " Error: " + why + "\r\n";
                fcntl(c, F_SETFL, O_NONBLOCK);
                [[maybe_unused]] auto n = ::write(c, line.data(), line.size());
                ::close(c);
                log::warning("{} from {}: {}", "reject", peer.namaddr(), why);
                continue;
            }
            pool.dispatch(c, int(i), peer.ip);
            ::close(c);
        }
    }
    log::info("stopping: {} sessions still running", pool.busy());
}

}  // namespace mta::listener
