#include "queue_control.hpp"

#include "ascii.hpp"
#include "clock.hpp"
#include "json.hpp"
#include "log.hpp"
#include "mailq_format.hpp"
#include "retry_schedule.hpp"
#include "status.hpp"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mta {

namespace {

// Every queued message with its directory, by id: one readdir per directory.
std::vector<std::pair<QueueId, bool>> queued(const Spool& s) {
    std::vector<std::pair<QueueId, bool>> out;
    for (bool held : {false, true}) {
        std::string dir = s.root() + (held ? "/hold" : "/env");
        DIR* d = ::opendir(dir.c_str());
        if (!d) throw Error::system("open directory " + dir, errno);
        while (struct dirent* e = ::readdir(d))
            if (e->d_name[0] != '.')
                if (auto id = QueueId::parse(e->d_name)) out.emplace_back(*id, held);
        ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The listing's entry of a queued file in which no envelope can be read;
// none when the file is gone (removed, or moved to or from hold/).
std::optional<DamagedEntry> damaged_entry(const Spool& s, const QueueId& id, bool held, std::string damage) {
    struct stat st;
    if (::stat(s.path(held ? "hold" : "env", id).c_str(), &st) != 0) return std::nullopt;
    return DamagedEntry{id.str(), held, std::uint64_t(st.st_size), st.st_mtime, std::move(damage)};
}

}  // namespace

size_t print_list(const Spool& s, bool json, std::FILE* out) {
    static char buf[1 << 16];
    std::setvbuf(out, buf, _IOFBF, sizeof buf);
    size_t n = 0;
    std::uint64_t bytes = 0;
    for (auto& [id, held] : queued(s)) {
        Spool::Loaded l;
        try {
            l = s.load_or_damage(id);
        } catch (const Error& err) {
            std::fprintf(stderr, "mta-queue: %s: %s\n", id.str().c_str(), err.what());
            continue;
        }
        std::string text;
        if (l.envelope) {
            text = json ? mailq_json(*l.envelope, held) + "\n" : mailq_entry(*l.envelope, held);
            bytes += l.envelope->size;
        } else if (auto d = l.damage ? damaged_entry(s, id, held, *l.damage) : std::nullopt) {
            text = json ? mailq_damaged_json(*d) + "\n" : mailq_damaged(*d);
            bytes += d->size;
        } else {
            continue;  // delivered while we listed
        }
        if (!json && n == 0) std::fputs(mailq_header().c_str(), out);
        std::fwrite(text.data(), 1, text.size(), out);
        ++n;
    }
    if (!json) std::fputs(n ? mailq_trailer(bytes, n).c_str() : mailq_empty().c_str(), out);
    std::fflush(out);
    return n;
}

namespace {

Error not_queued(const QueueId& id) {
    return Error(Status::permanent(550, "5.1.0", "no message " + id.str() + " in the queue"), ex::noinput);
}

}  // namespace

std::string message_content(const Spool& s, const QueueId& id) {
    if (!s.load(id)) throw not_queued(id);
    return s.content(id);
}

std::string show_message(const Spool& s, const QueueId& id, std::time_t now, bool as_json) {
    auto e = s.load(id);
    if (!e) throw not_queued(id);
    bool held = s.is_held(id);
    if (as_json) {
        std::string rcpts = "[";
        for (auto& r : e->recipients) {
            if (rcpts.size() > 1) rcpts += ",";
            json::Object o;
            o.add("address", r.address.str()).add("state", to_string(r.state)).add("attempts", r.attempts);
            if (!r.orcpt.empty()) o.add("orcpt", r.orcpt);
            if (!r.notify.empty()) o.add("notify", r.notify);
            if (!r.last.empty()) o.add("last", r.last);
            if (!r.remote.empty()) o.add("remote", r.remote);
            if (r.updated) o.add("updated", std::int64_t(r.updated));
            rcpts += o.str();
        }
        rcpts += "]";
        json::Object o;
        o.add("queue_id", id.str())
            .add("queue_name", queue_name(*e, held))
            .add("arrival_time", std::int64_t(e->arrival))
            .add("sender", e->sender.str())
            .add("message_size", std::int64_t(e->size))
            .add("attempts", e->attempts)
            .add("next_attempt", std::int64_t(e->next_attempt));
        if (!e->ret.empty()) o.add("ret", e->ret);
        if (!e->envid.empty()) o.add("envid", e->envid);
        if (!e->client.empty()) o.add("client", e->client);
        if (!e->protocol.empty()) o.add("protocol", e->protocol);
        return o.add_raw("recipients", rcpts).str() + "\n";
    }
    std::string out;
    auto kv = [&](std::string_view k, std::string_view v) {
        if (!v.empty()) out += fmt::format("{:<14}{}\n", std::string(k) + ":", v);
    };
    kv("queue id", id.str());
    kv("state", queue_name(*e, held));
    kv("arrival", clock::rfc5322(e->arrival) + " (" + format_duration(now - e->arrival) + " ago)");
    kv("sender", e->sender.path());
    kv("size", std::to_string(e->size));
    kv("client", e->client);
    kv("helo", e->helo);
    kv("protocol", e->protocol);
    kv("auth", e->auth);
    kv("body", e->body);
    if (e->smtputf8) kv("smtputf8", "yes");
    kv("ret", e->ret);
    kv("envid", e->envid);
    kv("attempts", std::to_string(e->attempts));
    if (held) kv("next attempt", "none (on hold)");
    else if (e->next_attempt <= now) kv("next attempt", "now (due)");
    else kv("next attempt", clock::rfc5322(e->next_attempt) + " (in " + format_duration(e->next_attempt - now) + ")");
    for (auto& r : e->recipients) {
        out += fmt::format("{:<14}{} {}", "recipient:", r.address.path(), to_string(r.state));
        if (r.attempts) out += fmt::format(", {} attempt{}", r.attempts, r.attempts == 1 ? "" : "s");
        out += "\n";
        if (!r.orcpt.empty()) out += fmt::format("  orcpt:       {}\n", r.orcpt);
        if (!r.notify.empty()) out += fmt::format("  notify:      {}\n", r.notify);
        if (!r.last.empty()) out += fmt::format("  last reply:  {}\n", r.last);
        if (!r.remote.empty()) out += fmt::format("  remote:      {}\n", r.remote);
        if (r.updated) out += fmt::format("  updated:     {}\n", clock::rfc5322(r.updated));
    }
    return out;
}

Control unclaimed(const Spool& s, const QueueId& id) {
    Spool::Loaded l = s.load_or_damage(id);
    if (l.damage) return Control::damaged;
    if (!l.envelope) return Control::missing;
    return s.content_gone(id) ? Control::content_gone : Control::busy;
}

Control hold_message(const Spool& s, const QueueId& id) {
    auto c = s.claim(id);
    if (!c) return unclaimed(s, id);
    if (!s.is_held(id)) {
        s.hold(id);
        log::info("{}: placed on hold", id.str());
    }
    return Control::done;
}

Control release_message(const Spool& s, const QueueId& id) {
    auto c = s.claim(id);
    if (!c) return unclaimed(s, id);
    if (s.load_or_damage(id).damage) return Control::damaged;  // a run would hold it again
    if (s.is_held(id)) {
        s.release(id);
        log::info("{}: released from hold", id.str());
    }
    return Control::done;
}

Control delete_message(const Spool& s, const QueueId& id) {
    auto c = s.claim(id);
    if (!c) {
        Control why = unclaimed(s, id);
        if (why != Control::content_gone && why != Control::damaged) return why;
        // Nothing can claim it, so nothing else works on it: the envelope goes.
    }
    s.remove(id);
    log::info("{}: removed", id.str());
    return Control::done;
}

Control make_due(const Spool& s, const QueueId& id, std::time_t now, bool reset) {
    auto c = s.claim(id);
    if (!c) return unclaimed(s, id);
    Spool::Loaded l = s.load_or_damage(id);
    if (l.damage) return Control::damaged;
    std::optional<Envelope>& e = l.envelope;
    if (!e) return Control::missing;
    e->id = id;
    e->next_attempt = now;
    if (reset) {
        e->attempts = 0;
        log::info("{}: requeued", id.str());
    }
    s.update(*e);
    return Control::done;
}

size_t make_due_all(const Spool& s, const std::string& domain, std::time_t now, bool reset) {
    size_t n = 0;
    std::string want = ascii::lower(domain);
    for (auto& id : s.list()) {
        if (s.is_held(id)) continue;
        if (!want.empty()) {
            std::optional<Envelope> e;
            try {
                e = s.load(id);
            } catch (const Error&) {
                continue;
            }
            if (!e) continue;
            bool match = false;
            for (auto& r : e->recipients)
                match = match || (r.state == RcptState::pending && ascii::lower(r.address.domain().str()) == want);
            if (!match) continue;
        }
        if (make_due(s, id, now, reset) == Control::done) ++n;
    }
    return n;
}

std::string queue_stats(const Spool& s, std::time_t now, bool as_json) {
    size_t total = 0, active = 0, deferred = 0, held = 0, due = 0, rcpts = 0, damaged = 0;
    std::uint64_t bytes = 0;
    const std::pair<std::time_t, const char*> buckets[] = {
        {5 * 60, "5m"}, {3600, "1h"}, {4 * 3600, "4h"}, {86400, "1d"}, {5 * 86400, "5d"}, {0, "older"}};
    size_t counts[6] = {0, 0, 0, 0, 0, 0};
    for (auto& id : s.list()) {
        Spool::Loaded l;
        try {
            l = s.load_or_damage(id);
        } catch (const Error&) {
            continue;
        }
        if (l.damage) ++damaged;
        if (!l.envelope) continue;
        const std::optional<Envelope>& e = l.envelope;
        ++total;
        bytes += e->size;
        rcpts += e->count(RcptState::pending);
        bool h = s.is_held(id);
        auto q = queue_name(*e, h);
        if (q == "hold") ++held;
        else if (q == "deferred") ++deferred;
        else ++active;
        if (!h && e->next_attempt <= now) ++due;
        std::time_t age = now - e->arrival;
        size_t b = 0;
        while (b < 5 && age >= buckets[b].first) ++b;
        ++counts[b];
    }
    if (as_json) {
        json::Object ages;
        for (size_t b = 0; b < 6; ++b) ages.add(buckets[b].second, std::int64_t(counts[b]));
        return json::Object()
                   .add("messages", std::int64_t(total))
                   .add("active", std::int64_t(active))
                   .add("deferred", std::int64_t(deferred))
                   .add("hold", std::int64_t(held))
                   .add("due", std::int64_t(due))
                   .add("recipients", std::int64_t(rcpts))
                   .add("bytes", std::int64_t(bytes))
                   .add("damaged", std::int64_t(damaged))
                   .add_raw("age", ages.str())
                   .str() +
               "\n";
    }
    std::string out = fmt::format(
        "messages: {}\nactive: {}\ndeferred: {}\nhold: {}\ndue: {}\nrecipients: {}\nbytes: {}\ndamaged: {}\n", total,
        active, deferred, held, due, rcpts, bytes, damaged);
    const char* labels[] = {"age <5m", "age <1h", "age <4h", "age <1d", "age <5d", "age >=5d"};
    for (size_t b = 0; b < 6; ++b) out += fmt::format("{}: {}\n", labels[b], counts[b]);
    return out;
}

}  // namespace mta
