// aliases: the aliases(5) file format and the values on its right-hand side.
//
//   # comment (a line whose first non-blank character is '#')
//   name: value, value, ...
//   list: alice,
//         bob           (a line starting with white space continues the entry)
//   "odd name": \root   (quotes for names with blanks, '#', ':' or '@')
//
// Names are folded to lower case. A value is one of (see classify()):
//   name            a local user or another alias (expanded again)
//   \name           the user's mailbox, never expanded further
//   user@domain     an address (local or remote)
//   /path/file      mbox-style append to a file
//   /path/dir/      a Maildir (a trailing slash means Maildir)
//   |command        the message on a command's standard input
//   :include:/path  more values read from a file
//   error:5.x.x text / error:4.x.x text   a fixed failure
// The same values, one or more a line, make up a ~/.forward file.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace mta::aliases {

struct Entry {
    std::string name;                 // lower case
    std::vector<std::string> values;  // as written, quotes removed
    int line = 0;                     // where the entry starts
};

// Parses the text of an aliases file. A malformed entry throws
// Error (config) naming origin and line.
std::vector<Entry> parse(std::string_view text, const std::string& origin);

// Splits a right-hand side (or a .forward file) into values: commas and
// line breaks separate, double quotes protect, '#' lines are comments.
std::vector<std::string> split_values(std::string_view rhs);

enum class Kind { name, mailbox, address, file, maildir, command, include, error };

struct Target {
    Kind kind = Kind::name;
    std::string value;  // name, address, path, command, or error text
};

// What one value means. Throws Error (config) when it means nothing.
Target classify(std::string_view value);

// An aliases file loaded for lookups.
class Table {
public:
    // A missing file is an empty table; an unreadable one throws Error (config).
    static Table load(const std::string& path);
    static Table from_text(std::string_view text, const std::string& origin);

    const Entry* find(std::string_view name) const;  // name in any case
    bool empty() const { return entries_.empty(); }
    uid_t owner_uid() const { return uid_; }
    gid_t owner_gid() const { return gid_; }
    const std::string& path() const { return path_; }

private:
    std::map<std::string, Entry, std::less<>> entries_;
    std::string path_;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
};

}  // namespace mta::aliases
