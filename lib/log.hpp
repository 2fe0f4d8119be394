// log: Postfix-shaped mail log lines.
//
// syslog facility LOG_MAIL with ident "mta/<component>" by default; or
// stderr, or a file (for unprivileged use), in syslog's own line shape:
//   "Nov 22 13:40:00 host mta/smtpd[123]: 01JD...: client=host[ip]"
// Lines about a message start with its queue id (or NOQUEUE). Never log to
// stderr when stderr is the SMTP connection: callers decide the target.
#pragma once

#include <fmt/format.h>
#include <string>
#include <string_view>

namespace mta::log {

enum class Level { info, warning, error };

// ident: "mta/smtpd", "mta/qmgr"...; target: "syslog", "stderr", "file:PATH".
// A file stays open; a file renamed or removed (log rotation) is replaced
// by a new one at PATH within a second. A process that drops privileges
// keeps writing through the descriptor it opened before; if it cannot
// open the rotated file, its lines go to stderr.
void open(std::string ident, const std::string& target);
void write(Level level, std::string_view text);

template <typename... A>
void info(fmt::format_string<A...> f, A&&... a) {
    write(Level::info, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void warning(fmt::format_string<A...> f, A&&... a) {
    write(Level::warning, "warning: " + fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void error(fmt::format_string<A...> f, A&&... a) {
    write(Level::error, "error: " + fmt::format(f, std::forward<A>(a)...));
}

// One delivery attempt, in the shape pflogsumm reads:
// "ID: to=<rcpt>, relay=R, delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=S (text)"
struct Delivery {
    std::string queue_id;
    std::string to;          // recipient, without <>
    std::string orig_to;     // "" when the same
    std::string relay;       // "host[ip]:port", "local", "none"
    double delay = 0;        // seconds since arrival
    double delays[4] = {0, 0, 0, 0};
    std::string dsn;         // enhanced status code
    std::string status;      // sent, deferred, bounced, expired
    std::string text;        // the reason
};
std::string format(const Delivery& d);
// Logs a delivery line — unless this process is a stage run by mta-queue
// (MTA_QUEUE_RUN set in its environment): then the runner logs the line,
// once, with the delays it measured, and pflogsumm counts each delivery once.
void delivery(const Delivery& d, Level level = Level::info);
// Postfix's rounding: integral above 100 s, two significant digits below.
std::string format_delay(double seconds);

// Replaces control characters with '?' (log lines are one line).
std::string sanitize(std::string_view s);

}  // namespace mta::log
