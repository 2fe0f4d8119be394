// pipe_delivery: a message on a command's standard input ("|command").
//
// The command runs under /bin/sh -c in the recipient's home directory (or
// /), in its own process group, with a clean environment: SENDER,
// RECIPIENT, USER, HOME, EXTENSION, LOCAL, DOMAIN, LOGNAME, SHELL=/bin/sh
// and PATH=/usr/local/bin:/usr/bin:/bin. Its exit status means:
//   0                  delivered
//   75, 71, 73, 74     temporary failure (sysexits)
//   other non-zero     permanent failure (67 → 5.1.1, 77 → 5.7.0, else 5.3.0)
//   killed by a signal temporary failure
//   time limit passed  the process group is killed: temporary failure
// When the exit status is not 0 and the output (stdout and stderr, of which
// the first 2000 bytes are kept) starts with "4.X.Y " or "5.X.Y ", that
// enhanced code and the rest of its line take precedence.
#pragma once

#include "status.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mta::pipe_delivery {

struct Command {
    std::string command;
    std::string sender;     // "" for <>
    std::string recipient;
    std::string user;
    std::string home;       // "" → "/"
    std::string extension;  // the part after the delimiter, "" for none
    std::string local;
    std::string domain;
    int timeout = 600;      // seconds
};

// Runs the command with prefix+message on stdin. Never throws for the
// command's own failures: they are in the Status.
Status run(const Command& c, std::string_view prefix, std::string_view message);

// The Status for a finished command (exposed for tests): exit code or
// signal, and its output.
Status interpret(bool exited, int code_or_signal, bool timed_out, std::string_view output);

}  // namespace mta::pipe_delivery
