// routes_table: the routes file, configured next hops (mta-routes(5)).
//
// One rule a line, '#' comments:
//
//   PATTERN  NEXTHOP[,NEXTHOP...]  [tls=POLICY] [auth=NAME]
//   PATTERN  error:X.Y.Z text...
//
// PATTERN is a recipient domain (exact), ".domain" (its subdomains), "*"
// (every other domain: the default smarthost), or a sender: "from:user@dom",
// "from:@dom", "from:<>". NEXTHOP is "host[:port]" (MX lookup on host),
// "[host][:port]" (no MX lookup), "-" (the recipient domain's own MX) or
// "local". Lookup order: exact domain, the longest matching ".domain",
// the sender (full address, then "@domain"), then "*".
#pragma once

#include "address.hpp"
#include "status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

struct NextHop {
    enum class Kind {
        mx,        // "host": the MX of host (or of the recipient domain when host is empty: "-")
        direct,    // "[host]": host's own addresses, no MX lookup
    };
    Kind kind = Kind::mx;
    std::string host;         // lower-case name or IP address; "" for "-"
    std::uint16_t port = 25;
};

struct RouteRule {
    enum class Action { forward, local, error };
    std::string pattern;           // as written (lower-cased)
    Action action = Action::forward;
    std::vector<NextHop> hops;     // forward: in the order to try
    std::string tls;               // "" = the default policy
    std::string auth;              // "" = none
    Status error;                  // action error
    int line = 0;                  // where it was written
};

class RoutesTable {
public:
    // Throws Error::config naming file:line on a malformed rule.
    static RoutesTable parse(std::string_view text, std::string_view filename = "routes");
    // A missing file is an empty table.
    static RoutesTable load(const std::string& path);

    // The rule for mail to `domain` from `sender` (nullopt: no sender
    // known; a null Address: the null sender), or nullptr.
    const RouteRule* match(const Domain& domain, const std::optional<Address>& sender) const;
    // The rule of the recipient domain or a parent domain, or nullptr.
    const RouteRule* match_recipient(const Domain& domain) const;
    // Whether any rule is a sender's ("from:").
    bool has_sender_rules() const;

    bool empty() const { return rules_.empty(); }
    size_t size() const { return rules_.size(); }

private:
    const RouteRule* find(std::string_view pattern) const;
    std::vector<RouteRule> rules_;
};

// "host[:port]", "[host][:port]", "[IPv6:addr][:port]" or "-". Throws Error::config.
NextHop parse_next_hop(std::string_view s);

}  // namespace mta
