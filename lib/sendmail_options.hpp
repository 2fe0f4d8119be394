// sendmail_options: the historical sendmail(8) command line, parsed by hand.
//
// getopt-style: flags may be grouped (-ti), an argument may be attached
// (-FCronDaemon, -oem, -B8BITMIME) or separate (-f addr); "--" ends the
// options. Options and recipients may be mixed as GNU getopt allows; an
// address that starts with '-' must follow "--". Every flag Sendmail,
// Postfix, Exim, qmail, dma or nullmailer accept is accepted here (most
// of them ignored); a flag none of them knows is a usage error (EX_USAGE).
// The program name picks the default mode: mailq lists the queue,
// newaliases checks the aliases file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mta::sendmail {

enum class Mode {
    submit,     // -bm (default): read a message on stdin and queue it
    smtp,       // -bs: SMTP on stdin/stdout (mta-recv --local)
    list,       // -bp, mailq: list the queue (mta-queue list)
    aliases,    // -bi, -I, newaliases: check the aliases file
    run_queue,  // -q[arg]: one queue run (mta-queue run)
    verify,     // -bv: check the recipient addresses, queue nothing
};

struct Options {
    Mode mode = Mode::submit;
    bool extract_recipients = false;    // -t
    bool ignore_dots = false;           // -i, -oi, -oitrue, -O IgnoreDots
    std::optional<std::string> sender;  // -f/-r as given; "" and "<>" mean the null sender
    std::optional<std::string> full_name;  // -F
    std::string body;                   // -B: "" (unset), "7BIT" or "8BITMIME"
    std::string notify;                 // -N: "" (unset), "NEVER" or e.g. "SUCCESS,FAILURE"
    std::string ret;                    // -R: "" (unset), "FULL" or "HDRS"
    std::string envid;                  // -V
    bool verbose = false;               // -v
    std::string config;                 // -C file (ignored when set-uid)
    std::string alias_file;             // -oA<file> (ignored when set-uid)
    std::string queue_arg;              // the attached argument of -q ("30m", "Iid"...)
    std::vector<std::string> recipients;  // as given, in order
    std::vector<std::string> ignored;     // flags accepted and ignored, as given
};

// The mode a program name implies: "mailq" → list, "newaliases" → aliases,
// anything else (sendmail, send-mail...) → submit. Only the base name counts.
Mode mode_for_program(std::string_view argv0);

// Parses the arguments after argv[0]. Throws Error (EX_USAGE, one line)
// on an unknown flag, a missing argument or a bad value.
Options parse_options(std::string_view argv0, const std::vector<std::string>& args);

}  // namespace mta::sendmail
