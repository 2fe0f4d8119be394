#include "sync_helpers.hpp"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <mutex>
#include <pthread.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace mta::sync_helpers {

namespace {

constexpr size_t max_helpers = 32;

// One call of fsync_all: how many of its fsyncs are still running.
struct Call {
    std::mutex m;
    std::condition_variable done;
    size_t left = 0;

    void one_done() {
        std::lock_guard l(m);
        if (--left == 0) done.notify_one();
    }
};

struct Job {
    int fd;
    int* error;
    Call* call;
};

struct Helpers {
    explicit Helpers(pid_t p) : owner(p) {}
    pid_t owner;
    std::mutex m;
    std::condition_variable wake;
    std::vector<Job> jobs;  // waiting; taken in any order
    size_t threads = 0;
    size_t unfinished = 0;  // jobs queued or running

    void serve() {
        std::unique_lock l(m);
        for (;;) {
            wake.wait(l, [&] { return !jobs.empty(); });
            Job job = jobs.back();
            jobs.pop_back();
            l.unlock();
            *job.error = ::fsync(job.fd) == 0 ? 0 : errno;
            l.lock();
            // Counted as free before the caller hears of it, so that the
            // caller's next job finds this helper rather than a new one.
            --unfinished;
            l.unlock();
            job.call->one_done();
            l.lock();
        }
    }

    // Queues the job for a helper; false when no helper can take it.
    // There are as many helpers as jobs not yet finished.
    bool submit(const Job& job) {
        std::lock_guard l(m);
        if (threads < unfinished + 1 && !start_one()) return false;
        jobs.push_back(job);
        ++unfinished;
        wake.notify_one();
        return true;
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
// alone (its mutex may even be held) and a new one is made; no lock is
// taken to find it, for the same reason.
Helpers& helpers() {
    static std::atomic<Helpers*> current{nullptr};
    pid_t self = ::getpid();
    Helpers* h = current.load();
    if (h && h->owner == self) return *h;
    auto* fresh = new Helpers(self);
    if (current.compare_exchange_strong(h, fresh)) return *fresh;
    delete fresh;  // another thread of this process made one first
    return *h;
}

}  // namespace

std::vector<int> fsync_all(const std::vector<int>& fds) {
    std::vector<int> errors(fds.size(), 0);
    if (fds.empty()) return errors;
    Call call;
    call.left = fds.size() - 1;
    for (size_t k = 1; k < fds.size(); ++k) {
        // Whatever fails here (memory, a thread), the fsync is done in this
        // thread: no job may outlive `call` and `errors`, so this function
        // always waits for the queued ones below.
        bool queued = false;
        try {
            queued = helpers().submit(Job{fds[k], &errors[k], &call});
        } catch (const std::exception&) {
        }
        if (queued) continue;
        errors[k] = ::fsync(fds[k]) == 0 ? 0 : errno;
        call.one_done();
    }
    errors[0] = ::fsync(fds[0]) == 0 ? 0 : errno;
    std::unique_lock l(call.m);
    call.done.wait(l, [&] { return call.left == 0; });
    return errors;
}

}  // namespace mta::sync_helpers
