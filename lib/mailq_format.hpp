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

// "hold", "deferred" (tried before) or "active" (not tried yet).
std::string_view queue_name(const Envelope& e, bool held);

}  // namespace mta
