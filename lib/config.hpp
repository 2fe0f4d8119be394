// config: one file, every option also a command-line flag.
//
// Each tool builds its cli::Command, then calls config::attach(), which adds
// --config and the keys every tool shares, and makes CLI11 read the config
// file (INI/TOML syntax): top-level keys are shared, keys under [<tool>]
// (e.g. [mta-recv]) are that tool's and override shared ones; other
// sections are ignored. The command line overrides the file.
//
// Embedded defaults need no root: everything lives under $MTA_ROOT, or
// ./mta-root when MTA_ROOT is unset; the config file is $MTA_ROOT/etc/mta.conf
// when MTA_ROOT is set, else /etc/mta/mta.conf (both optional).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mta::cli {
class Command;
}

namespace mta::config {

struct Common {
    std::string config;         // the config file read
    std::string spool;          // queue directory
    std::string etc;            // directory of tables (local-domains, aliases, routes...)
    std::string hostname;       // our name in greetings, Received, Message-ID, DSNs
    std::string log = "syslog"; // syslog | stderr | file:PATH
    std::string local_domains;  // file of local domains, one a line

    // "<etc>/<name>"
    std::string table(std::string_view name) const;
};

// $MTA_ROOT or "./mta-root" (absolute).
std::string default_root();
std::string default_config_file();

// Adds --config, --spool, --etc, --hostname, --log, --local-domains to app
// and sets up the sectioned config file reader for `tool`. Call finish()
// after parsing (cli::Command::parse_command_line) to fill in defaults that
// depend on other keys.
void attach(cli::Command& app, std::string_view tool, Common& c);
void finish(Common& c);

// Reads a table file: one entry a line, '#' comments and blank lines
// skipped, surrounding white space trimmed. A missing file is an empty
// table; an unreadable one throws Error (config).
std::vector<std::string> read_lines(const std::string& path);

// The local domains: the local-domains file if it exists, else the
// hostname and "localhost". Lower-cased.
std::vector<std::string> local_domains(const Common& c);

}  // namespace mta::config
