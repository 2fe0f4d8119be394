// password_file: the users who may authenticate to mta-recv (SMTP AUTH).
//
// One entry a line, "user:hash"; '#' comments and blank lines ignored.
// The hash is PBKDF2-HMAC-SHA512 with a random 16-byte salt:
//   $pbkdf2-sha512$ROUNDS$SALT$HASH     (SALT, HASH: base64 without padding)
// Format in mta-passwd(5); entries are made with `mta-recv --make-password`.
#pragma once

#include <string>
#include <string_view>

namespace mta::password_file {

inline constexpr int default_rounds = 100000;

// A new hash of the password with a fresh salt.
std::string make_hash(std::string_view password, int rounds = default_rounds);
// True when the hash is well formed and matches (constant-time compare).
bool check_hash(std::string_view hash, std::string_view password);
// Looks up the user in the file; false for unknown users, bad hashes and
// wrong passwords alike. Throws Error (config) when the file is unreadable.
bool verify(const std::string& path, std::string_view user, std::string_view password);
// "user:hash" for the file; throws Error (usage) when the user name is unfit.
std::string make_entry(std::string_view user, std::string_view password);

}  // namespace mta::password_file
