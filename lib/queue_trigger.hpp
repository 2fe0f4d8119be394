// queue_trigger: the spool's doorbell, <spool>/trigger, a FIFO (the shape
// of qmail's lock/trigger).
//
// Whoever commits a message pulls it: opens the FIFO for writing without
// blocking and writes one byte. With no reader the open fails (ENXIO) and
// nothing happens, so a spool run from cron alone costs one failed open per
// message. `mta-queue run --loop` listens: between passes it waits for a
// byte or its interval, whichever comes first, so a message is delivered
// when it arrives rather than at the next tick. The FIFO holds no state: a
// missing or broken one only means waiting for the interval.
#pragma once

#include "durable.hpp"

#include <string>

namespace mta::queue_trigger {

// The FIFO's path in a spool.
std::string path(const std::string& spool_root);

// Creates the FIFO (mode 0600) if missing: true when it made it. Throws
// Error when something else is in its place or mkfifo fails.
bool create(const std::string& spool_root);

// Tells a waiting runner that a message was queued. Never blocks, never
// throws.
void pull(const std::string& spool_root);

class Listener {
public:
    // Opens the FIFO for reading. Without a FIFO, wait() just sleeps.
    explicit Listener(const std::string& spool_root);
    bool listening() const { return read_.get() >= 0; }
    // Waits until the trigger is pulled (true) or `seconds` have passed
    // (false), then empties the FIFO. Pulls that came in meanwhile (during
    // a pass) make it return at once. A FIFO made anew since (mta-queue
    // init after it was removed) is opened first.
    bool wait(int seconds);

private:
    void open();
    std::string path_;
    durable::Fd read_;
    durable::Fd write_;  // our own writer, so that the FIFO never reads end-of-file
};

}  // namespace mta::queue_trigger
