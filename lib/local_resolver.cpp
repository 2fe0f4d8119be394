#include "local_resolver.hpp"

#include "ascii.hpp"
#include "forward_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace mta::local_resolver {

namespace {

constexpr int max_depth = 20;

struct passwd* user_named(const std::string& name) {
    if (name.empty()) return nullptr;
    if (auto* pw = ::getpwnam(name.c_str())) return pw;
    std::string l = ascii::lower(name);
    return l == name ? nullptr : ::getpwnam(l.c_str());
}

Owner owner_of(const struct passwd* pw) { return Owner{pw->pw_uid, pw->pw_gid, pw->pw_name, pw->pw_dir}; }

Status unknown(const std::string& who) { return Status::permanent(550, "5.1.1", "unknown user: " + who); }

}  // namespace

std::string extension(const std::string& local, const std::string& delimiter) {
    std::string base = local_recipient::base_local_part(local, delimiter);
    return base.size() < local.size() ? local.substr(base.size() + 1) : "";
}

struct Resolver::State {
    std::string recipient;
    std::set<std::string> seen;     // names, addresses and include files expanded
    std::set<std::string> targets;  // kind + destination, for duplicates
    std::vector<Delivery> out;

    void add(Delivery d) {
        std::string key = std::to_string(int(d.kind)) + "\n" + d.destination;
        if (d.kind == Kind::failure || targets.insert(key).second) out.push_back(std::move(d));
    }
    void fail(Status s, std::string via) {
        Delivery d;
        d.kind = Kind::failure;
        d.failure = std::move(s);
        d.via = std::move(via);
        add(std::move(d));
    }
};

struct Resolver::Ctx {
    Owner rights;                 // for files and commands
    bool have_rights = false;     // false: at the top, no file or command can appear
    bool from_include = false;
    bool from_forward = false;
    std::string forward_user;     // whose .forward is being expanded
    std::string sender;           // owner- sender for forwards
    std::string via;
};

Resolver::Resolver(Config c)
    : cfg_(std::move(c)),
      aliases_(aliases::Table::load(cfg_.tables.aliases)),
      virtual_(virtual_table::Table::load(cfg_.tables.virtual_table, cfg_.virtual_base)) {}

Owner Resolver::privs_for(uid_t uid, gid_t gid) const {
    if (uid != 0) {
        if (auto* pw = ::getpwuid(uid)) return Owner{uid, gid, pw->pw_name, pw->pw_dir};
        return Owner{uid, gid, "", "/"};
    }
    auto* pw = ::getpwnam(cfg_.default_privs.c_str());
    if (!pw || pw->pw_uid == 0) throw Error::config("default-privs user " + cfg_.default_privs + " is missing or root");
    return Owner{pw->pw_uid, pw->pw_gid, pw->pw_name, "/"};
}

Match Resolver::match(const Address& a) const {
    const std::string& local = a.local();
    std::string base = local_recipient::base_local_part(local, cfg_.tables.delimiter);
    const std::string& domain = a.domain().str();
    if (!domain.empty() &&
        (virtual_.find(local + "@" + domain) || virtual_.find_exact(base + "@" + domain)))
        return Match::virtual_entry;
    if (aliases_.find(local) || aliases_.find(base)) return Match::alias;
    if (cfg_.tables.system_users && (user_named(local) || user_named(base))) return Match::user;
    if (ascii::lower(local) == "postmaster" || ascii::lower(base) == "postmaster") return Match::postmaster;
    return Match::none;
}

std::vector<Delivery> Resolver::resolve(const Address& rcpt) const {
    State st;
    st.recipient = rcpt.str();
    Ctx ctx;
    ctx.via = "";
    st.seen.insert(ascii::lower(rcpt.str()));
    expand_address(rcpt, ctx, 0, st);
    return std::move(st.out);
}

void Resolver::add_virtual(const virtual_table::Entry& e, const std::string& via, State& st) const {
    Delivery d;
    d.kind = e.kind == virtual_table::Kind::maildir ? Kind::maildir
             : e.kind == virtual_table::Kind::mbox  ? Kind::mbox
                                                    : Kind::lmtp;
    d.destination = e.destination;
    if (e.uid)
        d.owner = Owner{*e.uid, *e.gid, "", "/"};
    else if (d.kind != Kind::lmtp)
        d.owner = privs_for(virtual_.owner_uid(), virtual_.owner_gid());
    d.via = via.empty() ? "virtual " + e.key : via;
    st.add(std::move(d));
}

// A whole address: the lookup order of match().
void Resolver::expand_address(const Address& a, const Ctx& ctx, int depth, State& st) const {
    if (depth > max_depth) return st.fail(Status::permanent(554, "5.4.6", "alias expansion too deep"), ctx.via);
    const std::string& local = a.local();
    std::string base = local_recipient::base_local_part(local, cfg_.tables.delimiter);
    const std::string& domain = a.domain().str();
    if (!domain.empty()) {
        const virtual_table::Entry* v = virtual_.find_exact(local + "@" + domain);
        if (!v) v = virtual_.find_exact(base + "@" + domain);
        if (!v) v = virtual_.find(local + "@" + domain);
        if (v) return add_virtual(*v, ctx.via, st);
    }
    for (const std::string& n : {local, base}) {
        if (const aliases::Entry* e = aliases_.find(n)) {
            std::string key = "alias:" + e->name;
            if (!st.seen.insert(key).second) return;
            return expand_alias(*e, domain, ctx, depth, st);
        }
    }
    if (cfg_.tables.system_users) {
        for (const std::string& n : {local, base})
            if (user_named(n)) return system_user(n, ctx, depth, st, true);
    }
    if (ascii::lower(local) == "postmaster" || ascii::lower(base) == "postmaster")
        return system_user("root", ctx, depth, st, false);
    st.fail(unknown(a.str()), ctx.via);
}

void Resolver::expand_alias(const aliases::Entry& e, const std::string& domain, const Ctx& outer, int depth,
                            State& st) const {
    Ctx ctx = outer;
    ctx.rights = privs_for(aliases_.owner_uid(), aliases_.owner_gid());
    ctx.have_rights = true;
    ctx.from_include = false;
    ctx.from_forward = false;
    ctx.forward_user.clear();
    ctx.via = "alias " + e.name;
    if (e.name.rfind("owner-", 0) != 0 && aliases_.find("owner-" + e.name)) {
        std::string d = domain.empty() ? (cfg_.local_domains.empty() ? cfg_.hostname : cfg_.local_domains[0]) : domain;
        ctx.sender = "owner-" + e.name + "@" + d;
    }
    for (auto& v : e.values) expand_value(v, ctx, depth + 1, st);
}

void Resolver::system_user(const std::string& name, const Ctx& ctx, int depth, State& st, bool forward) const {
    struct passwd* pw = user_named(name);
    if (!pw) return st.fail(unknown(name), ctx.via);
    Owner o = owner_of(pw);
    std::string user = o.user;
    if (forward && ctx.forward_user != user && st.seen.insert("forward:" + user).second) {
        auto f = forward_file::load(o.home, o.uid);
        if (f.refused) return st.fail(*f.refused, ".forward of " + user);
        if (f.forward && !f.forward->values.empty()) {
            Ctx fc;
            fc.rights = o;
            fc.have_rights = true;
            fc.from_forward = true;
            fc.forward_user = user;
            fc.sender = ctx.sender;
            fc.via = ".forward of " + user;
            for (auto& v : f.forward->values) expand_value(v, fc, depth + 1, st);
            return;
        }
    }
    Delivery d;
    d.owner = o;
    d.via = ctx.via.empty() ? "user " + user : ctx.via;
    if (!cfg_.home_mailbox.empty()) {
        d.destination = o.home + "/" + cfg_.home_mailbox;
        d.kind = cfg_.home_mailbox.back() == '/' ? Kind::maildir : Kind::mbox;
    } else {
        d.destination = cfg_.mail_spool + "/" + user;
        d.kind = Kind::mbox;
        d.in_mail_spool = true;
    }
    st.add(std::move(d));
}

void Resolver::expand_name(const std::string& name, const Ctx& ctx, int depth, State& st) const {
    if (depth > max_depth) return st.fail(Status::permanent(554, "5.4.6", "alias expansion too deep"), ctx.via);
    std::string key = ascii::lower(name);
    // A user named in their own .forward gets the mailbox.
    if (!ctx.forward_user.empty() && key == ascii::lower(ctx.forward_user))
        return system_user(ctx.forward_user, ctx, depth, st, false);
    if (const aliases::Entry* e = aliases_.find(key)) {
        if (!st.seen.insert("alias:" + e->name).second) return;
        return expand_alias(*e, "", ctx, depth, st);
    }
    if (!st.seen.insert("name:" + key).second) return;
    if (user_named(name)) return system_user(name, ctx, depth, st, true);
    if (key == "postmaster") return system_user("root", ctx, depth, st, false);
    st.fail(unknown(name), ctx.via);
}

void Resolver::expand_include(const std::string& path, const Ctx& outer, int depth, State& st) const {
    if (outer.from_forward)
        return st.fail(Status::permanent(550, "5.7.1", ":include: is not allowed in .forward"), outer.via);
    if (!st.seen.insert("include:" + path).second) return;
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return st.fail(Status::temporary(451, "4.3.0", "cannot open :include: file " + path + ": " + std::strerror(errno)), outer.via);
    struct stat sb;
    if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 002)) {
        ::close(fd);
        return st.fail(Status::temporary(451, "4.7.0", ":include: file " + path + " is not a safe regular file"), outer.via);
    }
    // Read only what the rights of the file that named it could read (we
    // may be root; /etc/shadow is not a mailing list).
    const Owner& r = outer.rights;
    bool readable = (sb.st_mode & S_IROTH) || (sb.st_uid == r.uid && (sb.st_mode & S_IRUSR)) ||
                    (sb.st_gid == r.gid && (sb.st_mode & S_IRGRP)) || ::geteuid() != 0;
    if (!outer.have_rights || !readable) {
        ::close(fd);
        return st.fail(Status::temporary(451, "4.7.0", ":include: file " + path + " is not readable by " +
                                                           (r.user.empty() ? std::to_string(r.uid) : r.user)),
                       outer.via);
    }
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < (1 << 20)) text.append(buf, size_t(n));
    ::close(fd);
    Ctx ctx = outer;
    ctx.from_include = true;
    ctx.rights = privs_for(sb.st_uid, sb.st_gid);
    ctx.have_rights = true;
    ctx.via = outer.via + " :include:" + path;
    for (auto& v : aliases::split_values(text)) expand_value(v, ctx, depth + 1, st);
}

void Resolver::expand_value(const std::string& value, const Ctx& ctx, int depth, State& st) const {
    aliases::Target t;
    try {
        t = aliases::classify(value);
    } catch (const Error& e) {
        return st.fail(Status::temporary(451, "4.3.5", ctx.via + ": " + e.status().text), ctx.via);
    }
    using aliases::Kind;
    switch (t.kind) {
    case Kind::name: return expand_name(t.value, ctx, depth, st);
    case Kind::mailbox: {
        if (!user_named(t.value)) return st.fail(unknown(t.value), ctx.via);
        return system_user(t.value, ctx, depth, st, false);
    }
    case Kind::address: {
        Address a;
        try {
            a = Address::parse(t.value, Address::Options{false, false, true});
        } catch (const Error&) {
            return st.fail(Status::temporary(451, "4.3.5", ctx.via + ": bad address " + t.value), ctx.via);
        }
        std::string domain = a.domain().str();
        bool local = std::find(cfg_.local_domains.begin(), cfg_.local_domains.end(), domain) !=
                     cfg_.local_domains.end();
        if (local || virtual_.has_domain(domain) || virtual_.find(a.str())) {
            if (!st.seen.insert(ascii::lower(a.str())).second) return;
            return expand_address(a, ctx, depth + 1, st);
        }
        Delivery d;
        d.kind = local_resolver::Kind::forward;
        d.destination = a.str();
        d.sender = ctx.sender;
        d.via = ctx.via;
        return st.add(std::move(d));
    }
    case Kind::file:
    case Kind::maildir:
    case Kind::command: {
        const char* what = t.kind == Kind::command ? "commands" : "files";
        if (!ctx.have_rights)
            return st.fail(Status::permanent(550, "5.7.1", std::string("mail to ") + what + " is not allowed here"), ctx.via);
        if (ctx.from_include && !cfg_.include_commands)
            return st.fail(Status::permanent(550, "5.7.1", std::string("mail to ") + what + " is not allowed in :include: files"), ctx.via);
        Delivery d;
        d.kind = t.kind == Kind::command ? local_resolver::Kind::command
                 : t.kind == Kind::file  ? local_resolver::Kind::mbox
                                         : local_resolver::Kind::maildir;
        d.destination = t.value;
        d.owner = ctx.rights;
        d.via = ctx.via;
        return st.add(std::move(d));
    }
    case Kind::include: return expand_include(t.value, ctx, depth, st);
    case Kind::error: {
        auto sp = t.value.find(' ');
        std::string code = t.value.substr(0, sp);
        std::string text = sp == std::string::npos ? "delivery refused" : t.value.substr(sp + 1);
        return st.fail(code[0] == '4' ? Status::temporary(450, code, text) : Status::permanent(550, code, text), ctx.via);
    }
    }
}

}  // namespace mta::local_resolver
