// base64: RFC 4648 encoding, for SMTP AUTH and password hashes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mta::base64 {

std::string encode(std::string_view in, bool pad = true);
// nullopt when `in` is not base64 (padding optional, no white space).
std::optional<std::string> decode(std::string_view in);

}  // namespace mta::base64
