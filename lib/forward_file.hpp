// forward_file: a user's ~/.forward, read only when it can be trusted.
//
// The file holds aliases(5) right-hand-side values (aliases.hpp), separated
// by commas or line breaks, with '#' comment lines. It is used only when it
// is a regular file (not a symbolic link), owned by the user, and writable
// by nobody else (no group or world write bit); the home directory must be
// owned by the user or root and not be group- or world-writable.
// :include: is not allowed in it. An empty file means "do not forward": mail
// goes to the user's mailbox.
#pragma once

#include "status.hpp"

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mta::forward_file {

struct Forward {
    std::vector<std::string> values;  // empty: deliver to the mailbox
};

struct Result {
    std::optional<Forward> forward;  // nullopt: no .forward file
    std::optional<Status> refused;   // set when the file exists but is unsafe
};

// Reads <home>/.forward for the user uid. Never throws for an unsafe or
// unreadable file: the reason is in `refused`.
Result load(const std::string& home, uid_t uid);

}  // namespace mta::forward_file
