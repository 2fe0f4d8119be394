// route: where mail for a domain goes next — mta-route's answer.
//
// One route per line on mta-route's stdout, read by mta-send and
// mta-queue. Text form: space-separated key=value tokens, `text=` last
// (it takes the rest of the line):
//
//   domain=example.org kind=mx tls=may host=mx1.example.org/25/10/192.0.2.1,2001:db8::1 host=...
//   domain=example.net kind=relay tls=encrypt host=smart.example.com/587/0/198.51.100.7
//   domain=localhost kind=local
//   domain=nx.example kind=error result=permanent code=550 enhanced=5.1.2 text=domain not found
//
// host=NAME/PORT/PREFERENCE/ADDR,ADDR... lists hosts in the order to try
// (equal preferences already shuffled); tlsa=USAGE/SELECTOR/MTYPE/HEX
// tokens carry the TLSA records of a dane policy; auth=NAME names the
// credentials entry for a relay. A host may have its own, stronger policy:
// hosttls=NAME/POLICY and hosttlsa=NAME/USAGE/SELECTOR/MTYPE/HEX (DANE for
// some MX hosts of a domain only). sender=ask (after kind=) marks an
// answer given without a sender where the routes file has sender rules
// and no rule of the recipient domain decided: the answer for a known
// sender may differ, so ask again with --sender (mta-queue does). JSON form
// (--json): the same fields ("sender": "ask").
#pragma once

#include "status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

enum class RouteKind { local, relay, mx, error };
std::string_view to_string(RouteKind k);

struct RouteHost {
    std::string name;                    // host name or address literal
    std::uint16_t port = 25;
    int preference = 0;
    std::vector<std::string> addresses;  // IPv6 and IPv4, in order to try
};

struct Tlsa {
    int usage = 3, selector = 1, mtype = 1;
    std::string data;  // hex
};

struct Route {
    std::string domain;
    RouteKind kind = RouteKind::error;
    std::string tls = "may";  // none, may, encrypt, verify, dane
    std::vector<RouteHost> hosts;
    std::vector<Tlsa> tlsa;
    std::string auth;         // credentials entry for a relay, "" none
    Status error;             // for kind error: temporary or permanent
    bool ask_sender = false;  // sender=ask: a sender rule may decide for a known sender

    // Hosts whose TLS policy is stronger than the route's (RFC 7672: DANE
    // is per MX host). A reader that ignores these uses `tls` for every
    // host, which is then the policy safe for all of them.
    struct HostTls {
        std::string host;        // a host= name
        std::string tls;         // its policy; "" = the route's
        std::vector<Tlsa> tlsa;  // its TLSA records, for dane
    };
    std::vector<HostTls> host_tls;

    std::string str() const;   // the text line, without newline
    std::string json() const;  // one JSON object
};

// Throws Error (data) when the line is not a route line.
Route parse_route(std::string_view line);

bool is_tls_policy(std::string_view s);

}  // namespace mta
