// The TLS plugin seen from a program: where it is looked for, that it
// loads, and what its engine computes.
#include "base64.hpp"
#include "password_file.hpp"
#include "status.hpp"
#include "tls_plugin.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <unistd.h>

using namespace mta;

namespace {

std::string hex(const unsigned char* p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

}  // namespace

TEST_CASE("tls_plugin: the file is looked for beside the program, or where MTA_TLS_PLUGIN says", "[tls]") {
    ::unsetenv("MTA_TLS_PLUGIN");
    std::string f = tls::plugin_file();
    REQUIRE(f.size() > 11);
    CHECK(f.substr(f.size() - 11) == "/mta-tls.so");
    CHECK(::access(f.c_str(), R_OK) == 0);  // the build tree's, beside unit-tests
    ::setenv("MTA_TLS_PLUGIN", "/nonexistent/x.so", 1);
    CHECK(tls::plugin_file() == "/nonexistent/x.so");
    ::unsetenv("MTA_TLS_PLUGIN");
    CHECK(tls::plugin_file() == f);
}

TEST_CASE("tls_plugin: the engine loads once and computes PBKDF2-HMAC-SHA512", "[tls]") {
    ::unsetenv("MTA_TLS_PLUGIN");
    tls::Engine& e = tls::engine();
    CHECK(tls::loaded());
    CHECK(&tls::engine() == &e);
    unsigned char out[64];
    // The published PBKDF2-HMAC-SHA512 vectors for "password", "salt".
    REQUIRE(e.pbkdf2_sha512("password", "salt", 1, out));
    CHECK(hex(out, 64) ==
          "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
          "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce");
    REQUIRE(e.pbkdf2_sha512("password", "salt", 2, out));
    CHECK(hex(out, 64) ==
          "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53c"
          "f76cab2868a39b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e");
}

TEST_CASE("tls_plugin: a password hash made here checks, one made elsewhere too", "[tls]") {
    std::string h = password_file::make_hash("correct horse", 1000);
    CHECK(h.rfind("$pbkdf2-sha512$1000$", 0) == 0);
    CHECK(password_file::check_hash(h, "correct horse"));
    CHECK_FALSE(password_file::check_hash(h, "correct horsf"));
    // Salt and hash from another implementation: Python's
    // hashlib.pbkdf2_hmac("sha512", b"pw", b"0123456789abcdef", 1000).
    std::string salt = "0123456789abcdef";
    std::string want_hex =
        "6e4e80cc334fb9fc2b686fd58e6025fbae36278ba0d19d7e68dae52b35fc687c"
        "04b3add70d4195253524bcf32603769d5225a7c084960be057d16598ed0b8f61";
    std::string want;
    for (size_t i = 0; i < want_hex.size(); i += 2) want += char(std::stoi(want_hex.substr(i, 2), nullptr, 16));
    std::string foreign = "$pbkdf2-sha512$1000$" + base64::encode(salt, false) + "$" + base64::encode(want, false);
    CHECK(password_file::check_hash(foreign, "pw"));
    CHECK_FALSE(password_file::check_hash(foreign, "pW"));
}

TEST_CASE("tls_plugin: server contexts report bad files as configuration errors", "[tls]") {
    tls::Failure f;
    auto c = tls::engine().server("/nonexistent/cert.pem", "/nonexistent/key.pem", f);
    CHECK(c == nullptr);
    CHECK(f.config);
    CHECK(f.text.find("TLS certificate /nonexistent/cert.pem") == 0);
}
