// outgoing_message: one message as mta-send will transfer it.
//
// The sender and recipients come from the command line (as mta-queue
// chose them), the content from the spool or a file, the DSN parameters
// (BODY, SMTPUTF8, RET, ENVID, NOTIFY, ORCPT) from the envelope. The
// content is encoded for the wire once (smtp_data.hpp).
#pragma once

#include "address.hpp"
#include "spool.hpp"
#include "status.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

struct OutgoingRecipient {
    std::string given;            // as on the command line, without <>
    Address address;
    std::string orcpt;            // "rfc822;bob@example.org" (xtext as received), "" none
    std::string notify;           // "" or "NEVER" or "SUCCESS,FAILURE,DELAY"
    std::optional<Status> error;  // set when the address did not parse
};

struct OutgoingMessage {
    std::string queue_id = "-";
    Address sender;
    std::vector<OutgoingRecipient> recipients;
    std::string data;             // wire bytes after DATA, terminator included
    std::uint64_t size = 0;       // the stored size, for SIZE=
    bool eight_bit = false;       // content has non-ASCII bytes or BODY=8BITMIME
    bool smtputf8 = false;        // SMTPUTF8 requested or needed by an address
    std::string ret;              // DSN RET
    std::string envid;            // DSN ENVID, decoded
};

// sender: "" or "<>" for the null sender. Recipient strings that do not
// parse get an error Status (permanent 5.1.3) instead of failing the whole
// message. Throws Error on a bad sender.
OutgoingMessage make_message(std::string content, std::string_view sender, const std::vector<std::string>& rcpts);

// The message with id from the spool: content msg/<id>, DSN parameters
// from env/<id> (or hold/<id>). Throws Error (temporary) when it is gone.
OutgoingMessage load_message(const Spool& spool, std::string_view id, std::string_view sender,
                             const std::vector<std::string>& rcpts);

// RFC 3461 xtext: "+" and "=" and bytes outside "!".."~" become "+HH".
std::string xtext(std::string_view s);

// Reads fd to its end (a message from a file or stdin); throws Error.
std::string read_message(int fd, const std::string& what);

}  // namespace mta
