// sync_helpers: threads kept to run several fsyncs at once.
//
// durable::sync_together() has the disk serve a commit's fsyncs in one
// wait by issuing them from several threads. Making a thread for each
// fsync cost a clone, a stack and an exit per message (about a twelfth of
// mta-recv's CPU time); the helpers are made at first need and then wait
// for the next call. They block every signal, so signals still reach the
// thread that waits in poll() or read(). A process made by fork() has none
// of its parent's helpers and makes its own.
#pragma once

#include <vector>

namespace mta::sync_helpers {

// fsync(2) of every descriptor at once: the first in the calling thread,
// the others in helper threads (or in turn in the calling thread when no
// thread can be had). Returns each one's errno, 0 when it was synced.
std::vector<int> fsync_all(const std::vector<int>& fds);

}  // namespace mta::sync_helpers
