#include "connection.hpp"
#include "worker_pool.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace mta;

namespace {

// A connected pair standing in for an accepted connection: the pool gets
// one end, the test reads what the worker wrote on the other.
struct Pair {
    int ours = -1, theirs = -1;
    Pair() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        ours = sv[0];
        theirs = sv[1];
    }
    ~Pair() {
        if (ours >= 0) ::close(ours);
        if (theirs >= 0) ::close(theirs);
    }
    // Hands our connection's other end to the pool, which keeps its own copy.
    void hand_to(WorkerPool& pool, int tag, const std::string& client) {
        REQUIRE(pool.dispatch(theirs, tag, client));
        ::close(theirs);
        theirs = -1;
    }
    // Everything the worker wrote, up to its closing of the connection.
    std::string read_all() {
        std::string out;
        char buf[256];
        for (int i = 0; i < 100; ++i) {
            pollfd p{ours, POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0) break;
            ssize_t n = ::read(ours, buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, size_t(n));
        }
        return out;
    }
};

// Lets the pool read the workers' "ready" notices.
void settle(WorkerPool& pool, size_t want_idle_total) {
    for (int i = 0; i < 200 && pool.size() - size_t(pool.busy()) < want_idle_total; ++i) {
        std::vector<pollfd> fds;
        pool.add_pollfds(fds);
        if (::poll(fds.data(), fds.size(), 50) > 0) pool.handle(fds, 0);
    }
}

// Each session writes the worker's pid and the tag, then ends.
WorkerPool::Serve writer() {
    return [](int fd, int tag) {
        // In the worker: no Catch2 assertion may throw here.
        std::string s = std::to_string(getpid()) + " " + std::to_string(tag);
        if (::write(fd, s.data(), s.size()) != ssize_t(s.size())) _exit(1);
    };
}

void reap_all() {
    while (::waitpid(-1, nullptr, 0) > 0) {
    }
}

}  // namespace

TEST_CASE("fd_passing: a descriptor and a tag cross a Unix socket") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    Pair conn;
    REQUIRE(fd_passing::send(sv[0], conn.theirs, 7));
    int tag = 0;
    int fd = fd_passing::receive(sv[1], tag);
    REQUIRE(fd >= 0);
    CHECK(tag == 7);
    CHECK(fd != conn.theirs);
    CHECK(::write(fd, "x", 1) == 1);  // the same connection
    char c = 0;
    CHECK(::read(conn.ours, &c, 1) == 1);
    CHECK(c == 'x');
    ::close(fd);
    ::close(sv[0]);
    CHECK(fd_passing::receive(sv[1], tag) == -1);  // end of stream
    ::close(sv[1]);
}

TEST_CASE("worker_pool: one worker serves sessions one after the other") {
    WorkerPool pool({100, 60}, writer(), [] {});
    Pair a, b;
    a.hand_to(pool, 1, "192.0.2.1");
    CHECK(pool.busy() == 1);
    CHECK(pool.busy_for("192.0.2.1") == 1);
    CHECK(pool.busy_for("192.0.2.2") == 0);
    std::string first = a.read_all();
    settle(pool, 1);
    CHECK(pool.busy() == 0);
    b.hand_to(pool, 2, "192.0.2.2");
    std::string second = b.read_all();
    CHECK(pool.size() == 1);
    std::string pid = first.substr(0, first.find(' '));
    CHECK(first == pid + " 1");
    CHECK(second == pid + " 2");  // the same process, the next tag
    settle(pool, 1);
    pool.tidy(monotonic_ms() + 61 * 1000);  // idle too long: retired
    CHECK(pool.size() == 0);
    reap_all();
}

TEST_CASE("worker_pool: max_use 1 gives each connection a fresh process") {
    WorkerPool pool({1, 60}, writer(), [] {});
    Pair a, b;
    a.hand_to(pool, 0, "c");
    std::string first = a.read_all();
    // The worker exits instead of reporting ready; the pool notices.
    for (int i = 0; i < 100 && pool.size() > 0; ++i) {
        std::vector<pollfd> fds;
        pool.add_pollfds(fds);
        if (::poll(fds.data(), fds.size(), 50) > 0) pool.handle(fds, 0);
    }
    CHECK(pool.size() == 0);
    b.hand_to(pool, 0, "c");
    std::string second = b.read_all();
    CHECK(!first.empty());
    CHECK(!second.empty());
    CHECK(first != second);
    reap_all();
}

TEST_CASE("worker_pool: a busy worker is not given a second connection") {
    // The first session waits until the test lets it go.
    int gate[2];
    REQUIRE(::pipe(gate) == 0);
    WorkerPool pool({100, 60},
                    [&](int fd, int) {
                        char c;
                        if (::read(gate[0], &c, 1) != 1) _exit(1);
                        std::string s = std::to_string(getpid());
                        if (::write(fd, s.data(), s.size()) != ssize_t(s.size())) _exit(1);
                    },
                    [] {});
    Pair a, b;
    REQUIRE(pool.dispatch(a.theirs, 0, "c"));
    REQUIRE(pool.dispatch(b.theirs, 0, "c"));
    CHECK(pool.size() == 2);
    CHECK(pool.busy_for("c") == 2);
    REQUIRE(::write(gate[1], "xx", 2) == 2);
    ::close(a.theirs);
    a.theirs = -1;
    ::close(b.theirs);
    b.theirs = -1;
    CHECK(a.read_all() != b.read_all());
    ::close(gate[0]);
    ::close(gate[1]);
}
// (The pools' destructors close the control sockets: their idle workers exit.)
TEST_CASE("worker_pool: workers left by the tests above have exited") {
    reap_all();
    CHECK(::waitpid(-1, nullptr, WNOHANG) == -1);
}
