// local_recipient: does a local mailbox exist for an address?
//
// mta-recv asks at RCPT time (so that it refuses with 550 5.1.1 instead of
// bouncing later) and mta-deliver resolves with the same tables:
//   <etc>/aliases   aliases(5): a name is the text before ':' on a line
//                   that does not start with white space or '#'
//   <etc>/virtual   virtual mailboxes: the first field of each line is an
//                   address (user@domain) or "@domain" (catch-all)
//   system users    getpwnam(3), when system_users is on
// postmaster always exists. "user+tag" is looked up as itself, then as
// "user" (the delimiter is configurable; empty turns it off).
#pragma once

#include "address.hpp"

#include <string>

namespace mta::config {
struct Common;
}

namespace mta::local_recipient {

struct Tables {
    std::string aliases;        // path of the aliases file
    std::string virtual_table;  // path of the virtual mailbox table
    std::string delimiter = "+";
    bool system_users = true;

    bool operator==(const Tables&) const = default;
};

Tables default_tables(const config::Common& c);

// The local part without its extension: "bob+tag" → "bob".
std::string base_local_part(const std::string& local, const std::string& delimiter);

// Implemented with local_resolver's lookup, so it agrees with delivery.
// Throws Error (config, temporary) when a table is malformed. The tables
// read are kept for the next call (in this thread) while their files'
// stamps stay the same (file_stamp.hpp): mta-recv asks per recipient.
bool exists(const Tables& t, const Address& a);

}  // namespace mta::local_recipient
