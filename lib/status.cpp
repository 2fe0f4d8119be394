#include "status.hpp"

#include <cerrno>
#include <cstring>

namespace mta {

std::string_view to_string(Outcome o) {
    switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::temporary: return "temporary";
    case Outcome::permanent: return "permanent";
    }
    return "temporary";
}

Outcome parse_outcome(std::string_view s) {
    if (s == "ok") return Outcome::ok;
    if (s == "temporary") return Outcome::temporary;
    if (s == "permanent") return Outcome::permanent;
    throw Error::data("unknown outcome: " + std::string(s));
}

Status Status::ok(std::string text) { return {Outcome::ok, 250, "2.0.0", std::move(text)}; }

Status Status::temporary(int code, std::string enhanced, std::string text) {
    return {Outcome::temporary, code, std::move(enhanced), std::move(text)};
}

Status Status::permanent(int code, std::string enhanced, std::string text) {
    return {Outcome::permanent, code, std::move(enhanced), std::move(text)};
}

std::string Status::reply() const {
    std::string r = std::to_string(code);
    if (!enhanced.empty()) r += " " + enhanced;
    if (!text.empty()) r += " " + text;
    return r;
}

int Status::exit_code() const { return exit_code_for(outcome, enhanced); }

int exit_code_for(Outcome o, std::string_view e) {
    if (o == Outcome::ok) return ex::ok;
    if (o == Outcome::temporary) return ex::tempfail;
    auto starts = [&](std::string_view p) { return e.substr(0, p.size()) == p; };
    if (e == "5.1.1") return ex::nouser;
    if (e == "5.1.2" || e == "5.1.10") return ex::nohost;
    if (starts("5.6.")) return ex::dataerr;
    if (starts("5.7.")) return ex::noperm;
    if (e == "5.3.5") return ex::config;
    if (starts("5.5.")) return ex::protocol;
    return ex::unavailable;
}

Status status_from_exit_code(int code, std::string text) {
    switch (code) {
    case ex::ok: return Status::ok(std::move(text));
    case ex::oserr:
    case ex::cantcreat:
    case ex::ioerr:
    case ex::tempfail: return Status::temporary(451, "4.3.0", std::move(text));
    case ex::usage:
    case ex::noinput:
    case ex::unavailable:
    case ex::software:
    case ex::osfile: return Status::permanent(554, "5.3.0", std::move(text));
    case ex::dataerr: return Status::permanent(554, "5.6.0", std::move(text));
    case ex::nouser: return Status::permanent(550, "5.1.1", std::move(text));
    case ex::nohost: return Status::permanent(550, "5.1.2", std::move(text));
    case ex::protocol: return Status::permanent(554, "5.5.0", std::move(text));
    case ex::noperm: return Status::permanent(550, "5.7.0", std::move(text));
    case ex::config: return Status::permanent(554, "5.3.5", std::move(text));
    default: return Status::permanent(554, "5.3.0", std::move(text));
    }
}

bool is_enhanced_code(std::string_view s) {
    if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
    size_t i = 2, digits = 0;
    for (; i < s.size() && s[i] != '.'; ++i) {
        if (s[i] < '0' || s[i] > '9' || ++digits > 3) return false;
    }
    if (digits == 0 || i >= s.size()) return false;
    digits = 0;
    for (++i; i < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9' || ++digits > 3) return false;
    }
    return digits > 0;
}

Error::Error(Status s, int exit_code)
    : std::runtime_error(s.text), status_(std::move(s)), exit_(exit_code) {}

Error Error::usage(std::string text) {
    return Error(Status::permanent(501, "5.5.4", std::move(text)), ex::usage);
}

Error Error::config(std::string text) {
    return Error(Status::temporary(451, "4.3.5", std::move(text)), ex::config);
}

Error Error::temp(std::string text) { return Error(Status::temporary(451, "4.3.0", std::move(text))); }

Error Error::system(std::string what, int err) {
    std::string text = what + ": " + std::strerror(err);
    if (err == ENOSPC || err == EDQUOT)
        return Error(Status::temporary(452, "4.3.1", std::move(text)), ex::tempfail);
    return Error(Status::temporary(451, "4.3.0", std::move(text)), ex::tempfail);
}

Error Error::data(std::string text) {
    return Error(Status::permanent(554, "5.6.0", std::move(text)), ex::dataerr);
}

}  // namespace mta
