#include "password_file.hpp"

#include "base64.hpp"
#include "config.hpp"
#include "status.hpp"
#include "tls_plugin.hpp"

#include <cerrno>
#include <charconv>
#include <sys/random.h>
#include <vector>

namespace mta::password_file {

namespace {

const std::string prefix = "$pbkdf2-sha512$";

// PBKDF2 is the TLS plugin's (OpenSSL's); loading it can throw.
std::string derive(std::string_view password, std::string_view salt, int rounds) {
    unsigned char out[64];
    if (!tls::engine().pbkdf2_sha512(password, salt, rounds, out)) throw Error::temp("PBKDF2 failed");
    return std::string(reinterpret_cast<char*>(out), sizeof out);
}

// Compares in a time that depends on the length only.
bool same_bytes(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff = diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]));
    return diff == 0;
}

}  // namespace

std::string make_hash(std::string_view password, int rounds) {
    char salt[16];
    for (size_t have = 0; have < sizeof salt;) {
        ssize_t n = ::getrandom(salt + have, sizeof salt - have, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error::system("getrandom", errno);
        have += size_t(n);
    }
    std::string s(salt, sizeof salt);
    return prefix + std::to_string(rounds) + "$" + base64::encode(s, false) + "$" +
           base64::encode(derive(password, s, rounds), false);
}

bool check_hash(std::string_view hash, std::string_view password) {
    if (hash.substr(0, prefix.size()) != prefix) return false;
    hash.remove_prefix(prefix.size());
    auto d1 = hash.find('$');
    if (d1 == std::string_view::npos) return false;
    auto d2 = hash.find('$', d1 + 1);
    if (d2 == std::string_view::npos) return false;
    int rounds = 0;
    auto r = std::from_chars(hash.data(), hash.data() + d1, rounds);
    if (r.ec != std::errc() || r.ptr != hash.data() + d1 || rounds < 1000 || rounds > 10000000) return false;
    auto salt = base64::decode(hash.substr(d1 + 1, d2 - d1 - 1));
    auto want = base64::decode(hash.substr(d2 + 1));
    if (!salt || !want || salt->size() < 8 || want->size() != 64) return false;
    std::string got = derive(password, *salt, rounds);
    return same_bytes(got, *want);
}

bool verify(const std::string& path, std::string_view user, std::string_view password) {
    for (auto& line : config::read_lines(path)) {
        auto colon = line.find(':');
        if (colon == std::string::npos || std::string_view(line).substr(0, colon) != user) continue;
        return check_hash(std::string_view(line).substr(colon + 1), password);
    }
    // Unknown user: spend the same time, so that timing does not tell.
    static const std::string dummy = make_hash("x");
    check_hash(dummy, password);
    return false;
}

std::string make_entry(std::string_view user, std::string_view password) {
    if (user.empty() || user.size() > 256) throw Error::usage("bad user name");
    for (unsigned char c : user)
        if (c <= ' ' || c == ':' || c == '#' || c == 127) throw Error::usage("user names cannot contain ':', '#', white space or control characters");
    if (password.empty()) throw Error::usage("empty password");
    return std::string(user) + ":" + make_hash(password);
}

}  // namespace mta::password_file
