// smtp_auth_client: logging in to a relay (RFC 4954) with AUTH PLAIN
// (RFC 4616) or AUTH LOGIN, from a credentials file.
//
// The credentials file (mta-credentials(5)) has one entry a line:
//   NAME USERNAME PASSWORD
// NAME is what a route's auth= token names; the password is the rest of
// the line (trailing white space removed). Lines whose first non-blank
// character is '#' and blank lines are skipped. The file must be a regular
// file owned by the user mta-send runs as and readable by nobody else
// (mode 0600 or 0400); otherwise it is refused (EX_CONFIG). Passwords are
// never taken from the command line.
#pragma once

#include "smtp_connection.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mta {

struct Credentials {
    std::string name;
    std::string username;
    std::string password;
};

// Throws Error (config) when the file is missing, unsafe or malformed, or
// has no entry `name`.
Credentials load_credentials(const std::string& path, const std::string& name);
// The entry for `name` in the text of a credentials file (no file checks).
std::optional<Credentials> find_credentials(std::string_view text, const std::string& name);

// Logs in with the first mechanism the server offers of PLAIN and LOGIN.
// Throws Error (temporary 4.7.8 on a refusal, 4.7.0 when no mechanism is
// shared, 4.4.2 on a lost connection).
void authenticate(SmtpConnection& c, const std::vector<std::string>& offered, const Credentials& cred,
                  const SmtpTimeouts& t);

std::string base64_encode(std::string_view s);

}  // namespace mta
