// queue_control: what an administrator does to the queue by hand —
// list, show, hold, release, delete, make due (flush, requeue), stats.
//
// Operations on one message take its claim first (Spool::claim), so they
// never change a message a pass is delivering: they report Busy instead.
#pragma once

#include "spool.hpp"

#include <cstdio>
#include <ctime>
#include <string>

namespace mta {

enum class Control { done, busy, missing, content_gone, damaged };

// The mailq listing (lib/mailq_format) or JSON lines; returns the number of messages.
size_t print_list(const Spool& s, bool json, std::FILE* out);

// A message in full: envelope, recipients, attempts, last replies, next attempt.
std::string show_message(const Spool& s, const QueueId& id, std::time_t now, bool json);
// The content of a queued message, as the delivery agents read it.
std::string message_content(const Spool& s, const QueueId& id);

// Why a message could not be claimed: busy (another process works on
// it), missing, or content_gone (Spool::content_gone).
Control unclaimed(const Spool& s, const QueueId& id);

Control hold_message(const Spool& s, const QueueId& id);
Control release_message(const Spool& s, const QueueId& id);
Control delete_message(const Spool& s, const QueueId& id);
// Due now; with reset, the backoff starts again (attempts = 0).
Control make_due(const Spool& s, const QueueId& id, std::time_t now, bool reset);
// Makes due every queued message with a pending recipient in `domain`
// (every message when domain is empty); returns how many. Busy and held
// messages are skipped.
size_t make_due_all(const Spool& s, const std::string& domain, std::time_t now, bool reset);

// Counts by state and by age, as "key: value" lines or one JSON object.
std::string queue_stats(const Spool& s, std::time_t now, bool json);

}  // namespace mta
