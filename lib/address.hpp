// address: RFC 5321 mailboxes and domains, parsed at the edge.
//
// A parsed Address is known good: its local part is a Dot-string or a
// Quoted-string (kept in the canonical form: unquoted when it can be), its
// domain a syntactically valid, lower-cased domain or address literal. The
// `%`, `!` and a quoted `@` in a local part are just characters: nothing
// here ever routes on them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mta {

class Domain {
public:
    // A domain name (LDH labels, or UTF-8 labels when utf8) or an address
    // literal ([192.0.2.1], [IPv6:...]). Throws Error (501 5.1.2) if invalid.
    static Domain parse(std::string_view s, bool utf8 = false);
    static std::optional<Domain> try_parse(std::string_view s, bool utf8 = false);

    const std::string& str() const { return name_; }
    bool is_literal() const { return !name_.empty() && name_[0] == '['; }
    bool empty() const { return name_.empty(); }
    bool operator==(const Domain&) const = default;
    // True when this is `d` or a subdomain of it.
    bool within(const Domain& d) const;

private:
    std::string name_;
};

class Address {
public:
    struct Options {
        bool allow_null = false;        // "<>" (the null reverse-path)
        bool allow_bare_local = false;  // "<Postmaster>" or "root" (no domain)
        bool utf8 = false;              // SMTPUTF8: UTF-8 in local part and domain
    };

    // An RFC 5321 Path as in MAIL FROM:/RCPT TO: — "<...>", optional
    // source route (accepted and dropped). Throws Error (501 5.1.3/5.1.7...)
    static Address parse_path(std::string_view s, Options o);
    // The same, angle brackets optional (command lines, result lines).
    static Address parse(std::string_view s, Options o);
    static Address null() { return Address(); }

    bool is_null() const { return local_.empty() && domain_.empty(); }
    const std::string& local() const { return local_; }
    const Domain& domain() const { return domain_; }
    // local@domain, the local part quoted when it needs to be; "" for null.
    std::string str() const;
    // "<local@domain>" or "<>"
    std::string path() const { return "<" + str() + ">"; }
    // Case-insensitive local part equal to "postmaster".
    bool is_postmaster() const;
    // True when the address has 8-bit characters (needs SMTPUTF8).
    bool is_utf8() const;
    bool operator==(const Address&) const = default;

private:
    std::string local_;  // unquoted value
    Domain domain_;
};

// True when s may stand unquoted as a local part (RFC 5321 Dot-string).
bool is_dot_string(std::string_view s, bool utf8);

}  // namespace mta
