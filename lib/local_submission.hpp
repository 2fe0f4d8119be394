// local_submission: a message from a local user into the spool.
//
// What sendmail(8) does with a message on its standard input: read it
// (LF or CRLF; without -i a line of one "." ends it; never dot-unstuffed;
// a missing final newline added), drop a leading "From " line, fix the
// header up (Received for local submission, Bcc and Return-Path removed,
// Date, Message-ID and From added when missing), take recipients from the
// command line and, with -t, from the header, and commit the message
// through Spool::Incoming. 8-bit content without -B is declared 8BITMIME, and
// UTF-8 addresses mark the envelope SMTPUTF8, so that relays announce them.
// Returns only after the commit; every failure is
// an Error whose exit code is the sysexits code to exit with.
#pragma once

#include "address.hpp"
#include "envelope.hpp"
#include "message_header.hpp"
#include "queue_id.hpp"
#include "sendmail_options.hpp"
#include "spool.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mta {

// Who submits and under which names.
struct LocalUser {
    unsigned uid = 0;      // the real uid (never the set-uid one)
    std::string login;     // its login name
    std::string hostname;  // for Received and Message-ID
    std::string mailname;  // domain of the default sender and of bare names
    std::string name;      // full name for a generated From: when -F is absent (NAME)
};

// The mail domain: the first line of path (Debian's /etc/mailname) when it
// is a valid domain, else fallback.
std::string read_mailname(const std::string& path, const std::string& fallback);

// The addresses of an address list (a command-line argument or a header
// value); names without a domain get "@mailname". Throws Error (data).
std::vector<Address> parse_addresses(std::string_view list, std::string_view mailname);

// The envelope sender: -f/-r when given ("" and "<>" are the null sender),
// else login@mailname. Throws Error (usage) on a bad -f.
Address envelope_sender(const sendmail::Options& o, const LocalUser& u);

// The recipients the header names for -t: Resent-To/-Cc/-Bcc when any
// Resent- recipient field is present, else To, Cc and Bcc.
std::vector<Address> header_recipients(const MessageHeader& h, std::string_view mailname);

// Header fix-ups for local submission, except Received (which needs the
// queue id, added by submit): removes Return-Path, Bcc and Resent-Bcc;
// adds From (with the full name), Date and Message-ID when missing.
// Returns the Message-ID.
std::string fix_header(MessageHeader& h, const sendmail::Options& o, const LocalUser& u, const Address& sender,
                       const QueueId& id, std::time_t now);

struct Submitted {
    QueueId id;
    Envelope envelope;
    std::string message_id;
};

// Reads the message from fd and queues it. Only the header is held in
// memory (at most 1 MiB); the body streams to the spool.
Submitted submit(const sendmail::Options& o, const LocalUser& u, const Spool& spool, int fd);

}  // namespace mta
