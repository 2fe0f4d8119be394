#include "local_recipient.hpp"

#include "config.hpp"
#include "file_stamp.hpp"
#include "local_resolver.hpp"

#include <optional>

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
    struct Kept {
        Tables tables;
        FileStamp aliases, virtual_table;
        std::optional<local_resolver::Resolver> resolver;
    };
    thread_local Kept kept;
    FileStamp aliases = file_stamp(t.aliases), virtual_table = file_stamp(t.virtual_table);
    if (!kept.resolver || !(kept.tables == t) || !(kept.aliases == aliases) || !(kept.virtual_table == virtual_table)) {
        kept.resolver.reset();
        local_resolver::Config c;
        c.tables = t;
        kept.resolver.emplace(std::move(c));  // may throw: then nothing is kept
        kept.tables = t;
        kept.aliases = aliases;
        kept.virtual_table = virtual_table;
    }
    return kept.resolver->match(a) != local_resolver::Match::none;
}

}  // namespace mta::local_recipient
