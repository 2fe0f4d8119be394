#include "retry_schedule.hpp"

#include "status.hpp"

#include <charconv>
#include <string>

namespace mta {

std::time_t RetrySchedule::next_attempt(std::time_t arrival, std::time_t now, int deferrals) const {
    if (deferrals < 1) deferrals = 1;
    std::time_t wait = min_backoff;
    for (int i = 1; i < deferrals && wait < max_backoff; ++i) wait *= 2;
    if (wait > max_backoff) wait = max_backoff;
    if (wait < 1) wait = 1;
    std::time_t next = now + wait;
    // RFC 5321 4.5.4.1: two connection attempts in the first hour, then
    // an interval of at least 30 minutes.
    if (next - arrival < first_hour && deferrals > retries_in_first_hour) next = arrival + first_hour;
    if (next - arrival >= first_hour && next - now < min_interval_after_first_hour && deferrals > retries_in_first_hour)
        next = now + min_interval_after_first_hour;
    return next;
}

void RetrySchedule::check() const {
    if (min_backoff < 1) throw Error::usage("min-backoff must be at least 1s");
    if (max_backoff < min_backoff) throw Error::usage("max-backoff must not be less than min-backoff");
    if (max_lifetime < 1) throw Error::usage("max-lifetime must be at least 1s");
    if (delay_warning < 0) throw Error::usage("delay-warning must not be negative");
}

std::time_t parse_duration(std::string_view s) {
    std::string_view in = s;
    if (s.empty()) throw Error::usage("empty duration");
    std::time_t total = 0;
    while (!s.empty()) {
        long long n = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec != std::errc() || p == s.data() || n < 0)
            throw Error::usage("bad duration: " + std::string(in) + " (use e.g. 300, 5m, 4h, 5d)");
        s.remove_prefix(size_t(p - s.data()));
        long long unit = 1;
        if (!s.empty()) {
            switch (s[0]) {
            case 's': unit = 1; break;
            case 'm': unit = 60; break;
            case 'h': unit = 3600; break;
            case 'd': unit = 86400; break;
            case 'w': unit = 7 * 86400; break;
            default: throw Error::usage("bad duration unit in " + std::string(in) + " (s, m, h, d or w)");
            }
            s.remove_prefix(1);
        }
        total += std::time_t(n * unit);
    }
    return total;
}

std::string format_duration(std::time_t t) {
    if (t <= 0) return "0s";
    std::string out;
    const std::pair<std::time_t, char> units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    for (auto [n, c] : units)
        if (t >= n) {
            out += std::to_string(t / n) + c;
            t %= n;
        }
    return out;
}

}  // namespace mta
