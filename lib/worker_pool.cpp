#include "worker_pool.hpp"

#include "connection.hpp"
#include "log.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mta {

namespace fd_passing {

namespace {

// One int of payload and room for one descriptor.
struct Message {
    int tag = 0;
    iovec iov{&tag, sizeof tag};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr m{};
    Message() {
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = control;
        m.msg_controllen = sizeof control;
    }
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;
};

}  // namespace

bool send(int sock, int fd, int tag) {
    Message msg;
    msg.tag = tag;
    msghdr& m = msg.m;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n;
    do n = ::sendmsg(sock, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == ssize_t(sizeof tag);
}

int receive(int sock, int& tag) {
    Message msg;
    msghdr& m = msg.m;
    ssize_t n;
    do n = ::recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    int fd = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    if (n != ssize_t(sizeof tag) || (m.msg_flags & MSG_CTRUNC)) {
        if (fd >= 0) ::close(fd);
        return -1;
    }
    tag = msg.tag;
    return fd;
}

}  // namespace fd_passing

WorkerPool::WorkerPool(Settings s, Serve serve, std::function<void()> in_child)
    : settings_(s), serve_(std::move(serve)), in_child_(std::move(in_child)) {
    if (settings_.max_use < 1) settings_.max_use = 1;
}

WorkerPool::~WorkerPool() {
    for (auto& w : workers_) ::close(w.control);
}

bool WorkerPool::dispatch(int fd, int tag, const std::string& client) {
    for (size_t i = 0; i < workers_.size(); ++i) {
        Worker& w = workers_[i];
        if (w.busy) continue;
        if (fd_passing::send(w.control, fd, tag)) {
            w.busy = true;
            w.client = client;
            return true;
        }
        drop(i);  // gone while idle: start another below
        break;
    }
    return start(fd, tag, client);
}

bool WorkerPool::start(int fd, int tag, const std::string& client) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        log::error("socketpair: {}", std::strerror(errno));
        return false;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        log::error("fork: {}", std::strerror(errno));
        ::close(sv[0]);
        ::close(sv[1]);
        return false;
    }
    if (pid == 0) {
        ::close(sv[0]);
        for (auto& w : workers_) ::close(w.control);
        worker_main(sv[1], fd, tag);
    }
    ::close(sv[1]);
    workers_.push_back(Worker{pid, sv[0], true, client, 0});
    return true;
}

void WorkerPool::worker_main(int control, int fd, int tag) {
    in_child_();
    workers_.clear();
    for (int served = 1;; ++served) {
        serve_(fd, tag);
        ::close(fd);
        if (served >= settings_.max_use) _exit(0);
        char ready = 'r';
        if (::send(control, &ready, 1, MSG_NOSIGNAL) != 1) _exit(0);
        fd = fd_passing::receive(control, tag);
        if (fd < 0) _exit(0);
    }
}

int WorkerPool::busy() const {
    int n = 0;
    for (auto& w : workers_) n += w.busy;
    return n;
}

int WorkerPool::busy_for(const std::string& client) const {
    int n = 0;
    for (auto& w : workers_) n += w.busy && w.client == client;
    return n;
}

void WorkerPool::add_pollfds(std::vector<pollfd>& fds) const {
    for (auto& w : workers_) fds.push_back({w.control, POLLIN, 0});
}

void WorkerPool::handle(const std::vector<pollfd>& fds, size_t first) {
    // Backwards, so that dropping a worker leaves the earlier indexes valid.
    for (size_t k = fds.size(); k-- > first;) {
        if (!fds[k].revents) continue;
        size_t i = k - first;
        if (i >= workers_.size() || workers_[i].control != fds[k].fd) continue;
        char c;
        ssize_t n = ::recv(fds[k].fd, &c, 1, MSG_DONTWAIT);
        if (n == 1 && c == 'r') {
            workers_[i].busy = false;
            workers_[i].client.clear();
            workers_[i].idle_since = monotonic_ms();
        } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            drop(i);  // the worker has exited
        }
    }
}

void WorkerPool::tidy(std::int64_t now_ms) {
    int status;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0)
        for (size_t i = 0; i < workers_.size(); ++i)
            if (workers_[i].pid == pid) {
                drop(i);
                break;
            }
    for (size_t i = workers_.size(); i-- > 0;)
        if (!workers_[i].busy && now_ms - workers_[i].idle_since > std::int64_t(settings_.max_idle) * 1000) drop(i);
}

void WorkerPool::drop(size_t i) {
    ::close(workers_[i].control);
    workers_.erase(workers_.begin() + std::ptrdiff_t(i));
}

}  // namespace mta
