#include "xxh64.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace mta {

namespace {

constexpr std::uint64_t p1 = 0x9E3779B185EBCA87ull;
constexpr std::uint64_t p2 = 0xC2B2AE3D27D4EB4Full;
constexpr std::uint64_t p3 = 0x165667B19E3779F9ull;
constexpr std::uint64_t p4 = 0x85EBCA77C2B2AE63ull;
constexpr std::uint64_t p5 = 0x27D4EB2F165667C5ull;

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// Little-endian loads, whatever the host's order.
std::uint64_t load64(const unsigned char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return v;
}
std::uint64_t load32(const unsigned char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
    return v;
}

std::uint64_t round(std::uint64_t acc, std::uint64_t lane) { return rotl(acc + lane * p2, 31) * p1; }
std::uint64_t merge(std::uint64_t acc, std::uint64_t v) { return (acc ^ round(0, v)) * p1 + p4; }

}  // namespace

// The four lanes' starting values (seed 0).
Xxh64::Xxh64() : acc_{p1 + p2, p2, 0, 0 - p1} {}

void Xxh64::stripe(const unsigned char* p) {
    for (int i = 0; i < 4; ++i) acc_[i] = round(acc_[i], load64(p + 8 * i));
}

void Xxh64::update(std::string_view bytes) {
    auto p = reinterpret_cast<const unsigned char*>(bytes.data());
    size_t n = bytes.size();
    total_ += n;
    if (pending_size_ > 0) {
        size_t take = std::min<size_t>(n, 32 - pending_size_);
        std::memcpy(pending_ + pending_size_, p, take);
        pending_size_ += take;
        p += take;
        n -= take;
        if (pending_size_ < 32) return;
        stripe(pending_);
        pending_size_ = 0;
    }
    for (; n >= 32; p += 32, n -= 32) stripe(p);
    std::memcpy(pending_, p, n);
    pending_size_ = n;
}

std::uint64_t Xxh64::digest() const {
    std::uint64_t h;
    if (total_ >= 32) {
        h = rotl(acc_[0], 1) + rotl(acc_[1], 7) + rotl(acc_[2], 12) + rotl(acc_[3], 18);
        for (auto v : acc_) h = merge(h, v);
    } else {
        h = p5;  // + the seed, 0
    }
    h += total_;
    const unsigned char* p = pending_;
    size_t n = pending_size_;
    for (; n >= 8; p += 8, n -= 8) h = rotl(h ^ round(0, load64(p)), 27) * p1 + p4;
    if (n >= 4) {
        h = rotl(h ^ (load32(p) * p1), 23) * p2 + p3;
        p += 4;
        n -= 4;
    }
    for (; n > 0; ++p, --n) h = rotl(h ^ (*p * p5), 11) * p1;
    h ^= h >> 33;
    h *= p2;
    h ^= h >> 29;
    h *= p3;
    h ^= h >> 32;
    return h;
}

std::uint64_t xxh64(std::string_view bytes) {
    Xxh64 h;
    h.update(bytes);
    return h.digest();
}

}  // namespace mta
