#include "clock.hpp"

#include <cstdlib>
#include <unistd.h>

namespace mta::clock {

std::time_t now() {
    // MTA_NOW is looked at once (a process's environment does not change
    // under it), and never in a set-uid or set-gid process.
    static const std::time_t fixed = [] {
        const char* n = getuid() == geteuid() && getgid() == getegid() ? std::getenv("MTA_NOW") : nullptr;
        return n && *n ? std::time_t(std::atoll(n)) : std::time_t(0);
    }();
    return fixed ? fixed : std::time(nullptr);
}

std::string rfc5322(std::time_t t) {
    struct tm tm;
    localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", &tm);
    return buf;
}

}  // namespace mta::clock
