// clock: the time every tool agrees on.
//
// MTA_NOW=<epoch seconds> fixes "now" for tests of backoff and expiry; it
// is ignored in set-uid/set-gid processes.
#pragma once

#include <ctime>
#include <string>

namespace mta::clock {

std::time_t now();
// RFC 5322 date-time with a numeric zone: "Sun, 22 Nov 2026 13:40:00 +0000".
std::string rfc5322(std::time_t t);

}  // namespace mta::clock
