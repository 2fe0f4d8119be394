#include "xxh64.hpp"

#include <catch2/catch.hpp>

#include <string>

using mta::Xxh64;
using mta::xxh64;

namespace {
std::string bytes_0_to_255_thrice_and_tail() {
    std::string s;
    for (int k = 0; k < 3; ++k)
        for (int i = 0; i < 256; ++i) s += char(i);
    return s + "tail";
}
}  // namespace

// Expected values from the reference implementation (xxhsum -H64).
TEST_CASE("xxh64 gives the reference implementation's values", "[xxh64]") {
    CHECK(xxh64("") == 0xef46db3751d8e999ull);
    CHECK(xxh64("a") == 0xd24ec4f1a98c6e5bull);
    CHECK(xxh64("abc") == 0x44bc2cf5ad770999ull);
    CHECK(xxh64("0123456789abcdef0123456789abcdef0123456789") == 0xa76190c3acf08a1cull);
    CHECK(xxh64(bytes_0_to_255_thrice_and_tail()) == 0x2a74de530bdf2a9full);
    CHECK(xxh64(std::string(100003, 'x')) == 0x952642f2c8684c89ull);
}

TEST_CASE("xxh64 fed in pieces of any size gives the value of the whole", "[xxh64]") {
    std::string s = bytes_0_to_255_thrice_and_tail();
    for (size_t piece : {1, 3, 7, 31, 32, 33, 100}) {
        Xxh64 h;
        for (size_t at = 0; at < s.size(); at += piece) h.update(std::string_view(s).substr(at, piece));
        CHECK(h.digest() == 0x2a74de530bdf2a9full);
    }
    Xxh64 h;
    h.update("ab");
    CHECK(h.digest() == xxh64("ab"));  // digest() leaves the state as it was
    h.update("c");
    CHECK(h.digest() == 0x44bc2cf5ad770999ull);
}
