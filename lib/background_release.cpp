#include "background_release.hpp"

#include <csignal>
#include <pthread.h>
#include <system_error>

namespace mta {

BackgroundRelease::~BackgroundRelease() {
    {
        std::lock_guard l(m_);
        stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void BackgroundRelease::hand_over(std::unique_ptr<Item> item) {
    std::unique_lock l(m_);
    if (!thread_.joinable()) {
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);  // the thread inherits it
        try {
            thread_ = std::thread([this] { serve(); });
        } catch (const std::system_error&) {
        }
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        if (!thread_.joinable()) {
            l.unlock();
            item.reset();  // no thread: destroyed here
            return;
        }
    }
    items_.push_back(std::move(item));
    wake_.notify_one();
}

void BackgroundRelease::wait() {
    std::unique_lock l(m_);
    idle_.wait(l, [&] { return items_.empty() && !busy_; });
}

void BackgroundRelease::serve() {
    std::unique_lock l(m_);
    for (;;) {
        wake_.wait(l, [&] { return stop_ || !items_.empty(); });
        if (items_.empty()) return;  // stopped, and nothing left
        std::unique_ptr<Item> item = std::move(items_.front());
        items_.pop_front();
        busy_ = true;
        l.unlock();
        item.reset();
        l.lock();
        busy_ = false;
        if (items_.empty()) idle_.notify_all();
    }
}

}  // namespace mta
