// worker_pool: the processes that serve the standalone listener's
// connections, each one after the other.
//
// The listener accepts every connection itself (so it can count sessions per
// client and refuse beyond the limits) and hands it to an idle worker over a
// Unix socket (SCM_RIGHTS), or forks a new worker when none is idle. A worker
// serves one session at a time; when a session ends it reports "ready" and
// waits for the next connection. It exits after `max_use` sessions (as
// Postfix's max_use), and when the listener closes its control socket: the
// listener does so for workers idle longer than `max_idle` seconds and when
// it stops. Only the listener decides that a worker is idle, and a worker
// leaves only by telling the listener first or by the listener's closing, so
// no connection is ever handed to a worker that is on its way out.
//
// Each session builds its state anew (smtp_server's serve()), so nothing of
// one session reaches the next; max_use 1 gives a fresh process per
// connection.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

struct pollfd;

namespace mta {

class WorkerPool {
public:
    struct Settings {
        int max_use = 100;   // sessions per worker
        int max_idle = 60;   // seconds an idle worker is kept
    };
    // serve(fd, tag): one session on the connection fd; tag says which
    // listening socket accepted it. Runs in the worker; the pool closes fd.
    using Serve = std::function<void(int fd, int tag)>;
    // in_child: run once in each new worker (close the listening sockets).
    WorkerPool(Settings s, Serve serve, std::function<void()> in_child);
    ~WorkerPool();  // closes the control sockets: idle workers exit
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Hands the connection to a worker; false when no worker could be
    // started (fork failed). The caller closes fd either way.
    bool dispatch(int fd, int tag, const std::string& client);

    int busy() const;
    int busy_for(const std::string& client) const;
    size_t size() const { return workers_.size(); }

    // The control sockets to poll, appended to fds; handle() takes the same
    // vector and the index of the first one after poll() returned.
    void add_pollfds(std::vector<pollfd>& fds) const;
    void handle(const std::vector<pollfd>& fds, size_t first);
    // Reaps exited workers and retires those idle too long.
    void tidy(std::int64_t now_ms);

private:
    struct Worker {
        pid_t pid = -1;
        int control = -1;       // our end of the socket pair
        bool busy = false;
        std::string client;     // whose session it serves
        std::int64_t idle_since = 0;
    };
    bool start(int fd, int tag, const std::string& client);
    void drop(size_t i);
    [[noreturn]] void worker_main(int control, int fd, int tag);

    Settings settings_;
    Serve serve_;
    std::function<void()> in_child_;
    std::vector<Worker> workers_;
};

namespace fd_passing {
// One descriptor and an int over a Unix socket (SCM_RIGHTS).
bool send(int sock, int fd, int tag);
// The descriptor received (close-on-exec), or -1 at the end of the stream
// or on an error.
int receive(int sock, int& tag);
}  // namespace fd_passing

}  // namespace mta
