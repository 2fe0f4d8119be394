#include "sync_helpers.hpp"

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <functional>
#include <mutex>
#include <pthread.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace mta::sync_helpers {

namespace {

constexpr size_t max_helpers = 32;

struct Helpers {
    explicit Helpers(pid_t p) : owner(p) {}
    pid_t owner;
    std::mutex m;
    std::condition_variable wake;
    std::deque<std::function<void()>> jobs;
    size_t threads = 0;
    size_t unfinished = 0;  // jobs submitted and not finished

    void serve() {
        std::unique_lock l(m);
        for (;;) {
            wake.wait(l, [&] { return !jobs.empty(); });
            auto job = std::move(jobs.front());
            jobs.pop_front();
            l.unlock();
            job();
            l.lock();
        }
    }

    // Queues the job for a helper; false when no helper can take it.
    // There are as many helpers as jobs not yet finished: a helper still
    // on its way back from the last call's job takes the next one.
    bool submit(std::function<void()> job) {
        std::lock_guard l(m);
        if (threads < unfinished + 1 && !start_one()) return false;
        ++unfinished;
        jobs.push_back(std::move(job));
        wake.notify_one();
        return true;
    }

    // Called by a submitted job when its work is done, before it tells
    // the caller.
    void finished() {
        std::lock_guard l(m);
        --unfinished;
    }

    bool start_one() {
        if (threads >= max_helpers) return false;
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);  // the thread inherits it
        bool made = true;
        try {
            std::thread([this] { serve(); }).detach();
            ++threads;
        } catch (const std::system_error&) {
            made = false;
        }
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        return made;
    }
};

// Never destroyed: detached helpers wait on it until the process ends.
// After a fork the child's copy has no threads behind it, so it is left
// alone (the mutex may even be held) and a new one is made.
Helpers& helpers() {
    static Helpers* h = nullptr;
    static std::mutex guard;
    std::lock_guard l(guard);
    pid_t self = ::getpid();
    if (!h || h->owner != self) h = new Helpers(self);
    return *h;
}

}  // namespace

std::vector<int> fsync_all(const std::vector<int>& fds) {
    std::vector<int> errors(fds.size(), 0);
    if (fds.empty()) return errors;
    std::mutex m;
    std::condition_variable done;
    size_t left = fds.size() - 1;
    auto one = [&](size_t k) { errors[k] = ::fsync(fds[k]) == 0 ? 0 : errno; };
    Helpers* h = fds.size() > 1 ? &helpers() : nullptr;
    auto finish = [&] {
        std::lock_guard l(m);
        if (--left == 0) done.notify_one();
    };
    for (size_t k = 1; k < fds.size(); ++k) {
        if (h->submit([&, k] {
                one(k);
                h->finished();
                finish();
            }))
            continue;
        one(k);
        finish();
    }
    one(0);
    std::unique_lock l(m);
    done.wait(l, [&] { return left == 0; });
    return errors;
}

}  // namespace mta::sync_helpers
