// dsn: delivery status notifications (RFC 3464 multipart/report).
//
// The report a sender gets when recipients failed (Action: failed), are
// still being retried after the delay-warning time (delayed), or were
// delivered and asked for it with NOTIFY=SUCCESS (delivered). The text is
// a whole message in the spool's LF form; the caller queues it from <>
// like any other message. Format and choices: docs/dsn.md.
#pragma once

#include "envelope.hpp"
#include "queue_id.hpp"
#include "status.hpp"

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

enum class DsnAction { failed, delayed, delivered, relayed };
std::string_view to_string(DsnAction a);

// What the NOTIFY parameter (RFC 3461) asks for. An empty NOTIFY means
// FAILURE and DELAY; NEVER means nothing.
bool notify_wants(std::string_view notify, DsnAction a);

struct DsnRecipient {
    Address address;
    std::string orcpt;       // as stored in the envelope ("rfc822;bob@example.org"), "" none
    DsnAction action = DsnAction::failed;
    Status status;           // the final (or last) outcome
    std::string remote;      // "mx.example.org[192.0.2.1]:25", "local", "" when none reached
    std::time_t last_attempt = 0;
};

struct DsnReport {
    QueueId dsn_id = QueueId::from_parts(0, 0);  // the report's own queue id (Message-ID, boundary)
    const Envelope* original = nullptr;
    std::string_view message;      // msg/<id>: the original content, LF line ends
    std::string reporting_mta;     // our host name
    std::time_t now = 0;
    std::time_t will_retry_until = 0;  // for delayed reports
    size_t return_limit = 50000;   // without RET=FULL, larger messages return headers only
    std::vector<DsnRecipient> recipients;
};

struct DsnMessage {
    std::string text;     // the whole message, LF line ends
    bool eight_bit = false;  // needs BODY=8BITMIME
};

DsnMessage make_dsn(const DsnReport& r);

// The header block of a message (up to, not including, the empty line).
std::string_view header_block(std::string_view message);
// The unfolded value of the first header field `name` (case-insensitive), "" if none.
std::string header_value(std::string_view headers, std::string_view name);
// Decodes RFC 3461 xtext ("+2B" → "+").
std::string xtext_decode(std::string_view s);

}  // namespace mta
