#include "log.hpp"

#include "clock.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

namespace mta::log {

namespace {

struct State {
    std::string ident = "mta";
    enum { to_syslog, to_stderr, to_file } kind = to_stderr;
    std::string path;
    std::string host;
    int fd = -1;                 // the log file, kept open between lines
    std::time_t checked = 0;     // when the path was last compared with fd
    std::mutex m;                // fd and checked: threads log too (mta-queue)
};

// The log file, open for appending. It stays open; once a second at most
// the path is compared with it, so that a file renamed away by log
// rotation is followed by the new one within a second. Called with s.m held.
int log_file(State& s, std::time_t now) {
    if (s.fd >= 0 && now == s.checked) return s.fd;
    s.checked = now;
    if (s.fd >= 0) {
        struct stat by_path, open_file;
        if (::stat(s.path.c_str(), &by_path) == 0 && ::fstat(s.fd, &open_file) == 0 &&
            by_path.st_dev == open_file.st_dev && by_path.st_ino == open_file.st_ino)
            return s.fd;
        ::close(s.fd);
    }
    s.fd = ::open(s.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    return s.fd;
}

State& state() {
    static State s;
    return s;
}

std::string short_host() {
    char h[256] = {0};
    gethostname(h, sizeof h - 1);
    std::string s = h;
    return s.substr(0, s.find('.'));
}

}  // namespace

void open(std::string ident, const std::string& target) {
    State& s = state();
    s.ident = std::move(ident);
    s.host = short_host();
    if (target == "syslog") {
        s.kind = State::to_syslog;
        openlog(s.ident.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
    } else if (target.rfind("file:", 0) == 0) {
        s.kind = State::to_file;
        std::lock_guard l(s.m);
        s.path = target.substr(5);
        if (s.fd >= 0) ::close(s.fd);
        s.fd = -1;
    } else {
        s.kind = State::to_stderr;
    }
}

std::string sanitize(std::string_view in) {
    std::string out(in);
    for (char& c : out)
        if ((static_cast<unsigned char>(c) < 32 && c != '\t') || c == 127) c = '?';
    return out;
}

void write(Level level, std::string_view text) {
    State& s = state();
    std::string body = sanitize(text);
    if (s.kind == State::to_syslog) {
        int prio = level == Level::info ? LOG_INFO : level == Level::warning ? LOG_WARNING : LOG_ERR;
        syslog(prio, "%s", body.c_str());
        return;
    }
    std::time_t t = std::time(nullptr);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
    std::string line = fmt::format("{} {} {}[{}]: {}\n", stamp, s.host, s.ident, getpid(), body);
    if (s.kind == State::to_file) {
        // Held across the write: another thread may be replacing fd.
        std::lock_guard l(s.m);
        if (int fd = log_file(s, t); fd >= 0) {
            // One write(2) per line with O_APPEND: lines of concurrent
            // processes do not interleave.
            [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
            return;
        }
    }
    [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
}

void delivery(const Delivery& d, Level level) {
    if (const char* q = std::getenv("MTA_QUEUE_RUN"); q && *q) return;
    write(level, format(d));
}

std::string format_delay(double s) {
    if (s < 0) s = 0;
    if (s >= 100) return fmt::format("{}", std::llround(s));
    if (s < 0.01) return "0";
    // two significant digits
    return fmt::format("{:.2g}", s);
}

std::string format(const Delivery& d) {
    std::string out = fmt::format("{}: to=<{}>, ", d.queue_id, d.to);
    if (!d.orig_to.empty() && d.orig_to != d.to) out += fmt::format("orig_to=<{}>, ", d.orig_to);
    out += fmt::format("relay={}, delay={}, delays={}/{}/{}/{}, dsn={}, status={} ({})", d.relay.empty() ? "none" : d.relay,
                       format_delay(d.delay), format_delay(d.delays[0]), format_delay(d.delays[1]),
                       format_delay(d.delays[2]), format_delay(d.delays[3]), d.dsn, d.status, d.text);
    return out;
}

}  // namespace mta::log
