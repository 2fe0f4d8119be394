// message_header: the header block of an RFC 5322 message.
//
// A MessageHeader is the list of header fields as they arrived (folding and
// all, LF line endings), so that a field nobody touches is written back byte
// for byte. Fields can be found by name (case-insensitively), removed and
// added. parse_address_list() reads the address lists of To:, Cc:, Bcc:
// and their Resent- forms: display names, groups, comments, quoted local
// parts, domain literals and the obsolete route syntax.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mta {

struct HeaderField {
    std::string name;  // as written, e.g. "Message-ID"
    std::string raw;   // the whole field: "Name: value\n\tmore\n" (LF endings)

    // The value unfolded (line breaks before white space removed), without
    // the name, colon and the white space around it.
    std::string value() const;
};

class MessageHeader {
public:
    // True when line (without its line ending) starts a header field:
    // a name of printable ASCII other than ':' and space, then ':'.
    static bool is_field_start(std::string_view line);
    // True when line continues the previous field (starts with SP or HT).
    static bool is_continuation(std::string_view line) {
        return !line.empty() && (line[0] == ' ' || line[0] == '\t');
    }

    // Adds one line (without its ending) of the header block: a new field
    // or the continuation of the last one. Throws Error (data) when the
    // line is neither.
    void add_line(std::string_view line);
    // Parses a whole header block (LF-terminated lines, no blank line).
    static MessageHeader parse(std::string_view block);

    bool has(std::string_view name) const;
    // The unfolded values of every field of that name, in order.
    std::vector<std::string> values(std::string_view name) const;
    // Removes every field of that name; returns how many there were.
    size_t remove(std::string_view name);
    // Adds a field "Name: value\n" at the end or at the start. A value
    // with line breaks must already be folded ("\n\t").
    void append(std::string_view name, std::string_view value);
    void prepend(std::string_view name, std::string_view value);

    const std::vector<HeaderField>& fields() const { return fields_; }
    size_t bytes() const;
    // The header block as text, each field ending in LF (no blank line).
    std::string str() const;

private:
    std::vector<HeaderField> fields_;
};

// Case-insensitive ASCII comparison of field names.
bool same_name(std::string_view a, std::string_view b);

// Removes line breaks that are followed by white space (RFC 5322 2.2.3).
std::string unfold(std::string_view s);

struct Mailbox {
    std::string display_name;  // decoded phrase ("" when none)
    std::string address;       // addr-spec "local@domain", or "local" when written without a domain
};

// Parses an RFC 5322 address-list. Members of groups are returned in place
// of the group; empty groups ("undisclosed-recipients:;") and empty list
// elements yield nothing. Throws Error (data) on a malformed list.
std::vector<Mailbox> parse_address_list(std::string_view value);

// The display name as an RFC 5322 phrase: as it is when it is made of
// atoms, quoted otherwise, RFC 2047 encoded (UTF-8, B) when not ASCII.
std::string encode_phrase(std::string_view name);

}  // namespace mta
