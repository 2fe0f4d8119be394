#include "queue_id.hpp"

#include "status.hpp"

#include <cerrno>
#include <sys/random.h>
#include <sys/time.h>

namespace mta {

namespace {
constexpr std::string_view alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int digit_value(char c) {
    auto p = alphabet.find(c);
    return p == std::string_view::npos ? -1 : int(p);
}
}  // namespace

QueueId QueueId::from_parts(std::uint64_t micros, std::uint64_t random40) {
    std::string s(length, '0');
    for (int i = 10; i >= 0; --i) {
        s[size_t(i)] = alphabet[micros & 31];
        micros >>= 5;
    }
    for (int i = 18; i >= 11; --i) {
        s[size_t(i)] = alphabet[random40 & 31];
        random40 >>= 5;
    }
    return QueueId(std::move(s));
}

QueueId QueueId::generate() {
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    std::uint64_t micros = std::uint64_t(tv.tv_sec) * 1000000u + std::uint64_t(tv.tv_usec);
    std::uint64_t r = 0;
    unsigned char* p = reinterpret_cast<unsigned char*>(&r);
    size_t got = 0;
    while (got < 5) {
        ssize_t n = getrandom(p + got, 5 - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error::system("getrandom", errno);
        }
        got += size_t(n);
    }
    return from_parts(micros, r);
}

std::optional<QueueId> QueueId::parse(std::string_view s) {
    if (s.size() != length) return std::nullopt;
    for (char c : s)
        if (digit_value(c) < 0) return std::nullopt;
    return QueueId(std::string(s));
}

std::uint64_t QueueId::arrival_micros() const {
    std::uint64_t v = 0;
    for (size_t i = 0; i < 11; ++i) v = (v << 5) | std::uint64_t(digit_value(id_[i]));
    return v;
}

}  // namespace mta
