#include "local_recipient.hpp"

#include "config.hpp"
#include "local_resolver.hpp"

namespace mta::local_recipient {

Tables default_tables(const config::Common& c) {
    return Tables{c.table("aliases"), c.table("virtual"), "+", true};
}

std::string base_local_part(const std::string& local, const std::string& delimiter) {
    if (delimiter.empty()) return local;
    auto p = local.find_first_of(delimiter);
    return p == std::string::npos || p == 0 ? local : local.substr(0, p);
}

bool exists(const Tables& t, const Address& a) {
    local_resolver::Config c;
    c.tables = t;
    return local_resolver::Resolver(std::move(c)).match(a) != local_resolver::Match::none;
}

}  // namespace mta::local_recipient
