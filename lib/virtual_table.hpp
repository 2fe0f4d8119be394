// virtual_table: mailboxes for users who are not system users.
//
// One entry a line, '#' comments, fields separated by white space:
//
//   alice@example.org   alice/Maildir/                 5000:5000
//   bob@example.org     /srv/mail/bob.mbox             5001:5001
//   @example.net        lmtp:unix:/run/dovecot/lmtp
//   carol@example.org   lmtp:inet:127.0.0.1:24
//
// The key is an address or "@domain" (every other user of the domain);
// keys are compared without regard to case. The destination is a path
// (relative to the base directory, default $MTA_ROOT/mail) ending in '/'
// for a Maildir or not for an mbox file, or an LMTP server. The optional
// third field is the owner uid:gid the delivery runs as when mta-deliver is
// started by root (default: the owner of the table file).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace mta::virtual_table {

enum class Kind { maildir, mbox, lmtp };

struct Entry {
    std::string key;          // lower case "user@domain" or "@domain"
    Kind kind = Kind::maildir;
    std::string destination;  // absolute path, or "unix:/path" / "inet:host:port"
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    int line = 0;
};

class Table {
public:
    // Missing file: empty table. Malformed lines throw Error (config).
    static Table load(const std::string& path, const std::string& base);
    static Table from_text(std::string_view text, const std::string& base, const std::string& origin);

    // Exact address first, then "@domain".
    const Entry* find(std::string_view address) const;
    // Only the exact address.
    const Entry* find_exact(std::string_view address) const;
    bool has_domain(std::string_view domain) const;
    uid_t owner_uid() const { return uid_; }
    gid_t owner_gid() const { return gid_; }

private:
    std::vector<Entry> entries_;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
};

}  // namespace mta::virtual_table
