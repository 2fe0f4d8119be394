// envelope: the small, replaceable half of a queued message.
//
// Sender, recipients with their delivery state, DSN parameters and
// scheduling data. Stored as env/<id> in the text format documented in
// docs/spool.md and mta-spool(5); serialize() and parse_envelope() are the
// only code that knows that format.
#pragma once

#include "address.hpp"
#include "queue_id.hpp"

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mta {

enum class RcptState { pending, sent, failed };
std::string_view to_string(RcptState s);

using ExtraFields = std::vector<std::pair<std::string, std::string>>;

struct Recipient {
    Address address;
    std::string orcpt;   // DSN ORCPT as given: "rfc822;bob@example.org" ("" none)
    std::string notify;  // DSN NOTIFY: "" (default), "NEVER" or e.g. "SUCCESS,FAILURE"
    RcptState state = RcptState::pending;
    int attempts = 0;
    std::string last;    // last reply: "451 4.3.0 text"
    std::string remote;  // where the last attempt went: "mx.example.org[192.0.2.1]:25"
    std::time_t updated = 0;
    ExtraFields extra;   // fields this version does not know, kept as they are
};

struct Envelope {
    std::optional<QueueId> id;
    std::time_t arrival = 0;
    Address sender;             // null for "<>"
    std::uint64_t size = 0;     // bytes of content in msg/<id> (before the trailer)
    std::string body;           // "", "7BIT", "8BITMIME"
    bool smtputf8 = false;
    std::string ret;            // DSN RET: "", "FULL", "HDRS"
    std::string envid;          // DSN ENVID (xtext-decoded)
    std::string client;         // "host[ip]" or "local"
    std::string helo;
    std::string protocol;       // "ESMTP", "ESMTPSA", "local"...
    std::string auth;           // authenticated user, if any
    std::time_t next_attempt = 0;
    int attempts = 0;
    std::vector<Recipient> recipients;
    ExtraFields extra;

    bool all_final() const;       // no recipient pending
    size_t count(RcptState s) const;
    // The value of an extra field, "" when absent; set_extra replaces it.
    std::string get_extra(std::string_view key) const;
    void set_extra(std::string key, std::string value);
};

std::string serialize(const Envelope& e);
// Throws Error (data) on a malformed envelope.
Envelope parse_envelope(std::string_view text);
// Throws parse_envelope()'s Error when the first line of head, the start
// of a file, is not an envelope's, so that a large file that holds none
// need not be read whole to tell; a head shorter than that line passes.
void check_envelope_start(std::string_view head);

// Replaces CR, LF and NUL with spaces: values in the envelope are one line.
std::string one_line(std::string_view s);

}  // namespace mta
