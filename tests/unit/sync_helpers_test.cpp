#include "background_release.hpp"
#include "sync_helpers.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>

using namespace mta;

namespace {

// The thread ids of this process.
std::set<std::string> threads_of_this_process() {
    std::set<std::string> ids;
    DIR* d = opendir("/proc/self/task");
    if (!d) return ids;
    while (struct dirent* e = readdir(d))
        if (e->d_name[0] != '.') ids.insert(e->d_name);
    closedir(d);
    return ids;
}

std::vector<int> temp_files(int n) {
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
        char t[] = "/tmp/mta-sync-test.XXXXXX";
        int fd = mkstemp(t);
        REQUIRE(fd >= 0);
        unlink(t);
        REQUIRE(write(fd, "x", 1) == 1);
        fds.push_back(fd);
    }
    return fds;
}

}  // namespace

TEST_CASE("fsync_all syncs each descriptor and reports each error", "[durable][sync]") {
    auto fds = temp_files(3);
    fds.insert(fds.begin() + 1, -1);  // a bad descriptor among good ones
    auto errors = sync_helpers::fsync_all(fds);
    REQUIRE(errors.size() == 4);
    CHECK(errors[0] == 0);
    CHECK(errors[1] == EBADF);
    CHECK(errors[2] == 0);
    CHECK(errors[3] == 0);
    CHECK(sync_helpers::fsync_all({}).empty());
    for (int fd : fds)
        if (fd >= 0) close(fd);
}

TEST_CASE("fsync_all keeps its threads instead of making new ones", "[durable][sync]") {
    auto fds = temp_files(4);
    // In a child made by fork, which starts with none of its parent's
    // helpers: they appear with the first call and stay the same.
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        auto before = threads_of_this_process();
        if (sync_helpers::fsync_all(fds) != std::vector<int>(4, 0)) _exit(1);
        auto after_first = threads_of_this_process();
        if (after_first.size() <= before.size()) _exit(2);  // no helper kept
        for (int i = 0; i < 200; ++i)
            if (sync_helpers::fsync_all(fds) != std::vector<int>(4, 0)) _exit(1);
        _exit(threads_of_this_process() == after_first ? 0 : 3);  // 3: threads made anew
    }
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (int fd : fds) close(fd);
}

TEST_CASE("BackgroundRelease destroys what it is given, in order, off the caller's thread", "[release]") {
    std::mutex m;
    std::vector<int> order;
    std::set<std::thread::id> where;
    struct Noted {
        int n;
        std::mutex* m;
        std::vector<int>* order;
        std::set<std::thread::id>* where;
        Noted(int n_, std::mutex* m_, std::vector<int>* o, std::set<std::thread::id>* w) : n(n_), m(m_), order(o), where(w) {}
        Noted(Noted&& o) noexcept : n(o.n), m(o.m), order(o.order), where(o.where) { o.n = -1; }
        ~Noted() {
            if (n < 0) return;  // moved from
            std::lock_guard l(*m);
            order->push_back(n);
            where->insert(std::this_thread::get_id());
        }
    };
    {
        BackgroundRelease r;
        for (int i = 0; i < 50; ++i) r.later(Noted(i, &m, &order, &where));
        r.wait();
        std::lock_guard l(m);
        CHECK(order.size() == 50);
        for (int i = 0; i < 50 && i < int(order.size()); ++i) CHECK(order[size_t(i)] == i);
        CHECK(where.size() == 1);
        CHECK(where.count(std::this_thread::get_id()) == 0);
    }
    {
        // The destructor waits for what is left.
        BackgroundRelease r;
        for (int i = 50; i < 60; ++i) r.later(Noted(i, &m, &order, &where));
    }
    CHECK(order.size() == 60);
}
