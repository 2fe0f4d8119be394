// mailq_format: the queue listing in Postfix's mailq shape, and as JSON.
//
//   -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
//   01JD5R4Q7M0000ABCDE    1734 Sun Nov 22 13:40:00  alice@example.com
//                                          (451 4.3.0 mailbox busy)
//                                            bob@example.org
//
//   -- 2 Kbytes in 1 Request.
//
// The id is followed by '!' when the message is on hold, else a space;
// pending recipients follow, grouped under the reason of their last
// deferral. An empty queue prints "Mail queue is empty". The JSON form
// is one object per message per line, with Postfix's postqueue -j keys.
//
// A queued file in which no envelope can be read (Spool::load_or_damage)
// is listed with its file's size and modification time, "(damaged)" for a
// sender, and why below:
//
//   01JD5R4Q7M0000ABCDE!    1734 Sun Nov 22 13:40:00  (damaged)
//                                         (envelope: not an mta-envelope 1 file)
#pragma once

#include "envelope.hpp"

#include <cstdint>
#include <ctime>
#include <string>

namespace mta {

std::string mailq_header();
std::string mailq_entry(const Envelope& e, bool held);
std::string mailq_trailer(std::uint64_t total_bytes, size_t messages);
std::string mailq_empty();

// {"queue_name":"deferred","queue_id":...,"arrival_time":...,"message_size":...,
//  "sender":...,"next_attempt":...,"attempts":...,"recipients":[{"address":...,"delay_reason":...}]}
std::string mailq_json(const Envelope& e, bool held);

// A queued file without a readable envelope: its id, whether it is held,
// its file's size and modification time, and why no envelope was read.
struct DamagedEntry {
    std::string id;
    bool held = false;
    std::uint64_t size = 0;
    std::time_t modified = 0;
    std::string damage;
};
std::string mailq_damaged(const DamagedEntry& d);
// {"queue_name":"hold","queue_id":...,"message_size":...,"modified":...,"damaged":...}
std::string mailq_damaged_json(const DamagedEntry& d);

// "hold", "deferred" (tried before) or "active" (not tried yet).
std::string_view queue_name(const Envelope& e, bool held);

}  // namespace mta
