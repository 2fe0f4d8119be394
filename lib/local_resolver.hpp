// local_resolver: from a local recipient to the deliveries it means.
//
// A recipient local@domain is looked up, first match wins:
//   1. the virtual table (virtual_table.hpp): local@domain, then the
//      address without its extension (base@domain), then @domain;
//   2. the aliases file (aliases.hpp): local, then base;
//   3. a system user (getpwnam) named local, then base (unless turned off),
//      with its ~/.forward (forward_file.hpp) when there is a safe one;
//   4. postmaster (any case) without an alias: root's mailbox.
// Anything else is an unknown user (550 5.1.1). local_recipient::exists()
// is match() != none, so mta-recv's RCPT check agrees with delivery.
//
// Alias and .forward values expand recursively (depth at most 20). A name
// already expanded for this recipient is not expanded again (that breaks
// loops and suppresses duplicates); a user named in their own .forward, or
// written \user, gets their mailbox. Addresses in a local domain (or with a
// virtual entry) expand again; other addresses are forwarded.
//
// Rights: a system user's mailbox, .forward targets and commands run as
// that user; virtual mailboxes as their table owner uid:gid; files and
// commands from the aliases file (or an :include: file) as that file's
// owner, or default_privs when the owner is root. Files and commands in
// :include: files are refused unless allowed.
#pragma once

#include "address.hpp"
#include "aliases.hpp"
#include "local_recipient.hpp"
#include "status.hpp"
#include "virtual_table.hpp"

#include <string>
#include <sys/types.h>
#include <vector>

namespace mta::local_resolver {

struct Config {
    local_recipient::Tables tables;         // aliases, virtual, delimiter, system users
    std::string virtual_base;               // base of relative virtual paths
    std::vector<std::string> local_domains; // lower case
    std::string hostname;                   // for owner- senders without a domain
    std::string mail_spool = "/var/mail";   // system users' mbox directory
    std::string home_mailbox;               // "Maildir/" or "mbox": relative to home, wins over mail_spool
    std::string default_privs = "nobody";
    bool include_commands = false;          // allow |cmd and /file in :include: files
};

// The rights a delivery runs with (used when mta-deliver runs as root).
struct Owner {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string user;  // "" for a bare uid:gid
    std::string home;
};

enum class Kind { maildir, mbox, command, lmtp, forward, failure };

struct Delivery {
    Kind kind = Kind::failure;
    std::string destination;  // path, command, LMTP server or remote address
    Owner owner;
    std::string sender;       // envelope sender for a forward (owner- alias) or "" to keep
    Status failure;           // for Kind::failure
    std::string via;          // how it was reached: "alias staff", ".forward of bob"
    bool in_mail_spool = false;  // a system user's mbox in mail_spool: root may create it
};

enum class Match { none, virtual_entry, alias, user, postmaster };

class Resolver {
public:
    explicit Resolver(Config c);

    Match match(const Address& rcpt) const;
    // The deliveries for a recipient; an unknown recipient gives one
    // failure (550 5.1.1). Throws Error (config) on broken tables.
    std::vector<Delivery> resolve(const Address& rcpt) const;

    const Config& config() const { return cfg_; }

private:
    struct State;
    struct Ctx;
    void expand_address(const Address& a, const Ctx& ctx, int depth, State& st) const;
    void expand_name(const std::string& name, const Ctx& ctx, int depth, State& st) const;
    void expand_value(const std::string& value, const Ctx& ctx, int depth, State& st) const;
    void expand_alias(const aliases::Entry& e, const std::string& domain, const Ctx& ctx, int depth, State& st) const;
    void expand_include(const std::string& path, const Ctx& ctx, int depth, State& st) const;
    void system_user(const std::string& name, const Ctx& ctx, int depth, State& st, bool forward) const;
    void add_virtual(const virtual_table::Entry& e, const std::string& via, State& st) const;
    Owner privs_for(uid_t file_uid, gid_t file_gid) const;

    Config cfg_;
    aliases::Table aliases_;
    virtual_table::Table virtual_;
};

// "alice+tag" → "tag" ("" when there is no extension).
std::string extension(const std::string& local, const std::string& delimiter);

}  // namespace mta::local_resolver
