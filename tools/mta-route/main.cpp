// mta-route: print the next hop for each domain or address (mta-route(8)).
#include "cli/command.hpp"
#include "config.hpp"
#include "dns_resolver.hpp"
#include "log.hpp"
#include "route_lookup.hpp"
#include "routes_table.hpp"

#include <iostream>
#include <random>

using namespace mta;

namespace {

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// The input, printable, for the text of its error line.
std::string sanitized(const std::string& s) {
    std::string out;
    for (unsigned char c : s) out.push_back(c >= ' ' && c < 0x7f ? char(c) : '?');
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    cli::Command app{"mta-route: print the next hop for each domain or address"};
    config::Common common;
    std::vector<std::string> targets, resolvers;
    std::string sender, routes_file, protocols = "all", tls = "may";
    bool json = false, have_sender = false, no_dane = false, verbose = false;
    int timeout = 5, attempts = 2;
    app.add_option("target", targets, "domains or addresses (default: one per line on stdin)");
    auto* sender_opt = app.add_option("--sender,-f", sender, "the envelope sender, for sender-dependent routes ('' or <> for the null sender)");
    app.add_flag("--json", json, "print JSON lines");
    app.add_option("--routes", routes_file, "the routes file (default: <etc>/routes)");
    app.add_option("--resolver", resolvers, "name server ADDR[:PORT] to ask (default: /etc/resolv.conf)")
        ->allow_extra_args(false);
    app.add_option("--timeout", timeout, "seconds to wait for each DNS answer")->capture_default_str()->check(cli::Range(1, 300));
    app.add_option("--attempts", attempts, "tries per name server")->capture_default_str()->check(cli::Range(1, 10));
    app.add_option("--inet-protocols", protocols, "address families: all, ipv4 or ipv6")
        ->capture_default_str()
        ->check(cli::IsMember({"all", "ipv4", "ipv6"}));
    app.add_option("--tls", tls, "TLS policy of routes that name none: none, may, encrypt, verify, dane")
        ->capture_default_str()
        ->check(cli::IsMember({"none", "may", "encrypt", "verify", "dane"}));
    app.add_flag("--no-dane", no_dane, "never look up TLSA records");
    app.add_flag("-v,--verbose", verbose, "print each DNS query and its answer on stderr");
    config::attach(app, "mta-route", common);
    if (auto rc = app.parse_command_line(argc, argv)) return *rc;
    have_sender = sender_opt->count() > 0;

    try {
        config::finish(common);
        log::open("mta/route", common.log);
        std::optional<Address> from;
        if (have_sender)
            from = sender.empty() || sender == "<>" ? Address::null()
                                                    : Address::parse(sender, {.allow_null = true, .utf8 = true});
        RoutesTable table = RoutesTable::load(routes_file.empty() ? common.table("routes") : routes_file);
        dns::ResolverOptions ro{resolvers, timeout, attempts, !no_dane, {}};
        if (verbose) ro.trace = [](const std::string& line) { std::cerr << "mta-route: dns: " << line << "\n"; };
        dns::Resolver resolver(ro);

        RouteLookupOptions o;
        o.local_domains = config::local_domains(common);
        o.hostname = common.hostname;
        o.local_addresses = interface_addresses();
        o.ipv6 = protocols != "ipv4";
        o.ipv4 = protocols != "ipv6";
        o.dane = !no_dane;
        o.default_tls = tls;
        std::mt19937 rng{std::random_device{}()};
        RouteLookup lookup(o, table, resolver, rng);

        int rc = ex::ok;
        auto one = [&](const std::string& target) {
            Route r;
            try {
                r = lookup.find(input_domain(target), from);
            } catch (const Error& e) {
                std::cerr << "mta-route: " << sanitized(target) << ": " << e.status().text << "\n";
                // The line keeps its place; "invalid" (RFC 6761) is no domain anyone has.
                r.domain = "invalid";
                r.kind = RouteKind::error;
                r.error = Status::permanent(501, "5.1.2", sanitized(target) + ": " + e.status().text);
                rc = ex::dataerr;
            }
            std::cout << (json ? r.json() : r.str()) << '\n' << std::flush;
        };
        if (!targets.empty()) {
            for (auto& t : targets) one(t);
        } else {
            std::string line;
            while (std::getline(std::cin, line)) {
                line = trim(line);
                if (line.empty() || line[0] == '#') continue;
                one(line);
            }
        }
        if (!std::cout) {
            std::cerr << "mta-route: cannot write the routes\n";
            return ex::ioerr;
        }
        return rc;
    } catch (const Error& e) {
        std::cerr << "mta-route: " << e.status().text << "\n";
        return e.exit_code();
    }
}
