#include "clock.hpp"

#include <cstdlib>
#include <unistd.h>

namespace mta::clock {

std::time_t now() {
    if (getuid() == geteuid() && getgid() == getegid()) {
        if (const char* n = std::getenv("MTA_NOW"); n && *n) return std::time_t(std::atoll(n));
    }
    return std::time(nullptr);
}

std::string rfc5322(std::time_t t) {
    struct tm tm;
    localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", &tm);
    return buf;
}

}  // namespace mta::clock
