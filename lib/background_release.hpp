// background_release: what is left to destroy, destroyed beside the caller.
//
// The kernel frees a removed file when its last descriptor is closed. On
// a file system mounted with `discard`, ext4 without a journal sends the
// device the discard of the file's blocks there and then, and close(2)
// waits for it: about 0.2 ms a message on the virtual disks we measure on,
// a third of a queue runner's time at 100 KiB (docs/performance.md). The
// runner hands the claims of the messages it removed to a
// BackgroundRelease instead of closing them itself: one thread, made at
// first need, destroys what it is given in order. The thread blocks every
// signal, so that signals still reach the thread that waits for them.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace mta {

class BackgroundRelease {
public:
    BackgroundRelease() = default;
    ~BackgroundRelease();  // waits until everything given is destroyed
    BackgroundRelease(const BackgroundRelease&) = delete;
    BackgroundRelease& operator=(const BackgroundRelease&) = delete;

    // Destroys `things` in the thread. When no thread can be made, here
    // and now.
    template <typename T>
    void later(T things) {
        hand_over(std::make_unique<Held<T>>(std::move(things)));
    }

    // Returns when everything given so far is destroyed.
    void wait();

private:
    struct Item {
        virtual ~Item() = default;
    };
    template <typename T>
    struct Held : Item {
        explicit Held(T t) : things(std::move(t)) {}
        T things;
    };
    void hand_over(std::unique_ptr<Item> item);
    void serve();

    std::mutex m_;
    std::condition_variable wake_, idle_;
    std::deque<std::unique_ptr<Item>> items_;
    bool busy_ = false;  // the thread is destroying one
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace mta
