// xxh64: the XXH64 hash (xxHash specification, seed 0), fed in pieces.
//
// The spool's receipt footer carries it over the content and envelope of
// a received file, so that a file a power cut left half written is told
// from a whole one (lib/receipt_trailer, docs/spool.md). Fast enough to
// run over every octet received (several GB/s); not a defence against
// anyone choosing the bytes.
#pragma once

#include <cstdint>
#include <string_view>

namespace mta {

class Xxh64 {
public:
    Xxh64();
    void update(std::string_view bytes);
    std::uint64_t digest() const;

private:
    void stripe(const unsigned char* p);
    std::uint64_t acc_[4];
    unsigned char pending_[32];
    std::uint64_t pending_size_ = 0;
    std::uint64_t total_ = 0;
};

std::uint64_t xxh64(std::string_view bytes);

}  // namespace mta
