// retry_schedule: when a deferred message is tried again, and when it dies.
//
// Exponential backoff: the n-th deferral waits min_backoff * 2^(n-1),
// capped at max_backoff (Postfix-like defaults: 5 min doubling to 4 h).
// RFC 5321 4.5.4.1 bounds it from below whatever the configuration says:
// at most two retries in the first hour a message is queued, and after
// that hour never less than 30 minutes between attempts. A message older
// than max_lifetime (5 days) is not deferred again: its next temporary
// failure is final and it is returned to the sender. An optional delay
// warning (RFC 3464 Action: delayed) is due after delay_warning seconds
// (0: never, the default).
#pragma once

#include <ctime>
#include <string_view>

namespace mta {

struct RetrySchedule {
    std::time_t min_backoff = 300;
    std::time_t max_backoff = 4 * 3600;
    std::time_t max_lifetime = 5 * 24 * 3600;
    std::time_t delay_warning = 0;

    static constexpr std::time_t first_hour = 3600;
    static constexpr int retries_in_first_hour = 2;
    static constexpr std::time_t min_interval_after_first_hour = 30 * 60;

    // The next attempt time after the `deferrals`-th deferral (1 for the
    // first) of a message that arrived at `arrival`, decided at `now`.
    std::time_t next_attempt(std::time_t arrival, std::time_t now, int deferrals) const;
    // True when a temporary failure at `now` is final (lifetime over).
    bool expired(std::time_t arrival, std::time_t now) const { return now - arrival >= max_lifetime; }
    // True when a delay warning is due (and enabled).
    bool warning_due(std::time_t arrival, std::time_t now) const {
        return delay_warning > 0 && now - arrival >= delay_warning;
    }
    // Throws Error (usage) when the values make no sense.
    void check() const;
};

// "300", "300s", "5m", "4h", "5d", "1w" → seconds; throws Error (usage).
std::time_t parse_duration(std::string_view s);
// The short form of a duration: "5m", "4h", "1d2h", "45s".
std::string format_duration(std::time_t seconds);

}  // namespace mta
