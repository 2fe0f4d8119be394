#include "queue_runner.hpp"

#include "ascii.hpp"
#include "batch_job.hpp"
#include "clock.hpp"
#include "dsn.hpp"
#include "log.hpp"
#include "stage_program.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fcntl.h>
#include <exception>
#include <limits>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace mta {

namespace {

using steady = std::chrono::steady_clock;
constexpr std::time_t recovery_interval = 3600;

bool exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
}

// The global lock of a pass: flock on <spool>/lock, never blocking. A root
// runner gives the file to the spool's owner, whose runs open it too.
class PassLock {
public:
    PassLock(const std::string& root, const std::optional<StageUser>& owner) {
        std::string p = root + "/lock";
        fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd_ >= 0) {
            mark_recovery(0);  // new: recovery has never run
        } else if (errno == EEXIST) {
            fd_ = ::open(p.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        }
        if (fd_ < 0) throw Error::system("open " + p, errno);
        struct stat st;
        if (owner && ::fstat(fd_, &st) == 0 && st.st_uid != owner->uid && ::fchown(fd_, owner->uid, owner->gid) != 0) {
            int e = errno;
            ::close(fd_);
            fd_ = -1;
            throw Error::system("change owner of " + p, e);
        }
        while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EINTR) continue;
            if (errno == EWOULDBLOCK) return;
            int e = errno;
            ::close(fd_);
            fd_ = -1;
            throw Error::system("flock " + p, e);
        }
        held_ = true;
    }
    ~PassLock() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool held() const { return held_; }
    std::time_t last_recovery() const {
        struct stat st;
        return ::fstat(fd_, &st) == 0 ? st.st_mtime : 0;
    }
    void mark_recovery(std::time_t t) const {
        struct timespec ts[2] = {{t, 0}, {t, 0}};
        ::futimens(fd_, ts);
    }

private:
    int fd_ = -1;
    bool held_ = false;
};

// The destination a concurrency limit counts against: the relay for a
// relay route, the domain otherwise.
std::string destination_of(const Route& r) {
    if (r.kind == RouteKind::relay && !r.hosts.empty())
        return "relay:" + r.hosts[0].name + ":" + std::to_string(r.hosts[0].port);
    return r.domain;
}

// Runs fn(i) for every job, at most `total` at once and at most `per` of
// one destination at once.
template <typename F>
void run_limited(const std::vector<std::string>& destinations, int total, int per, F&& fn) {
    std::mutex m;
    std::condition_variable cv;
    std::map<std::string, int> active;
    std::vector<bool> taken(destinations.size(), false);
    size_t remaining = destinations.size();
    auto worker = [&] {
        std::unique_lock lk(m);
        while (true) {
            size_t pick = destinations.size();
            for (size_t i = 0; i < destinations.size(); ++i)
                if (!taken[i] && active[destinations[i]] < per) {
                    pick = i;
                    break;
                }
            if (pick == destinations.size()) {
                if (remaining == 0) return;
                bool any_left = std::find(taken.begin(), taken.end(), false) != taken.end();
                if (!any_left) return;
                cv.wait(lk);
                continue;
            }
            taken[pick] = true;
            --remaining;
            ++active[destinations[pick]];
            lk.unlock();
            fn(pick);
            lk.lock();
            --active[destinations[pick]];
            cv.notify_all();
        }
    };
    int n = std::max(1, std::min<int>(total, int(destinations.size())));
    std::vector<std::thread> threads;
    for (int i = 1; i < n; ++i) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
}

// The sender as route_key() and mta-route --sender take it.
std::string sender_key(const Address& sender) { return sender.is_null() ? "<>" : ascii::lower(sender.str()); }

// Where routes_ keeps the answer for a domain asked for a sender.
std::string route_key(const std::string& domain, const std::string& sender) { return domain + "\t" + sender; }

std::string relay_of(const std::string& host) { return host.empty() || host == "-" ? "none" : host; }

// Spool::remove for the messages of one stage run, with one fsync of env/
// for all of them instead of one each: every envelope is unlinked first,
// then env/ is synced, then the contents go. Each message sees the order
// Spool::remove gives it (docs/spool.md, "Finish"), so a crash leaves
// either envelope and content, or content alone, which recovery removes.
// gone[k] is false for a message whose removal failed (it was logged; the
// caller tries again the ordinary way).
std::vector<bool> remove_messages(const Spool& spool, const std::vector<QueueId>& ids) {
    std::vector<bool> gone(ids.size(), false);
    if (ids.empty()) return gone;
    for (size_t k = 0; k < ids.size(); ++k) {
        try {
            durable::unlink(spool.path("env", ids[k]));
            durable::unlink(spool.path("hold", ids[k]));
            gone[k] = true;
        } catch (const Error& e) {
            log::warning("{}: cannot remove: {}", ids[k].str(), e.what());
        }
    }
    try {
        durable::sync_directory(spool.root() + "/env");
    } catch (const Error& e) {
        log::warning("cannot remove {} messages: {}", ids.size(), e.what());
        return std::vector<bool>(ids.size(), false);
    }
    for (size_t k = 0; k < ids.size(); ++k) {
        if (!gone[k]) continue;
        try {
            durable::unlink(spool.path("msg", ids[k]));
        } catch (const Error& e) {
            // The envelope is gone: the content is an orphan recovery removes.
            log::warning("{}: cannot remove the content: {}", ids[k].str(), e.what());
        }
    }
    return gone;
}

// The claims of messages the runner removed, destroyed by its
// BackgroundRelease: each file is emptied there first
// (Spool::Claim::free_if_removed), so that the close of its last
// descriptor, by whichever process holds it (a stage started meanwhile
// has copies until its exec), costs nothing more.
struct RemovedFiles {
    std::vector<Spool::Claim> claims;
    RemovedFiles(RemovedFiles&&) = default;
    explicit RemovedFiles(std::vector<Spool::Claim> c) : claims(std::move(c)) {}
    ~RemovedFiles() {
        for (auto& c : claims) c.free_if_removed();
    }
};

// Spool::update_all for the messages of one pass or job, with their
// failures logged (the outcomes are found again on the next attempt).
void record_outcomes(const Spool& spool, const std::vector<const Envelope*>& envelopes) {
    std::vector<std::string> errors = spool.update_all(envelopes);
    for (size_t k = 0; k < errors.size(); ++k)
        if (!errors[k].empty())
            log::warning("{}: cannot record outcomes: {}", envelopes[k]->id ? envelopes[k]->id->str() : "-", errors[k]);
}

// What every report about `original` says of itself: it is queued as
// `id`, from `mta`, made at `now`, and quotes `content` (the original
// message).
DsnReport report_about(const Envelope& original, QueueId id, std::string_view content, const std::string& mta,
                       std::time_t now) {
    DsnReport rep;
    rep.dsn_id = id;
    rep.original = &original;
    rep.message = content;
    rep.reporting_mta = mta;
    rep.now = now;
    return rep;
}

// A report's line for recipient r.
DsnRecipient report_line(const Recipient& r, DsnAction action, Status status) {
    DsnRecipient x;
    x.address = r.address;
    x.orcpt = r.orcpt;
    x.action = action;
    x.status = std::move(status);
    x.remote = r.remote;
    x.last_attempt = r.updated;
    return x;
}

// Queues report m (incoming, which holds its id) from <> to the sender of
// `original`, due now.
void queue_report(Spool::Incoming& incoming, const Envelope& original, const DsnMessage& m, std::time_t now) {
    incoming.write(m.text);
    Envelope de;  // from <>
    Recipient to;
    to.address = original.sender;
    de.recipients.push_back(to);
    de.body = m.eight_bit ? "8BITMIME" : "";
    de.smtputf8 = original.smtputf8 && original.sender.is_utf8();
    de.client = "local";
    de.protocol = "local";
    de.arrival = now;
    de.next_attempt = now;
    incoming.commit(de);
}

}  // namespace

DeliveryPlan plan_deliveries(const std::vector<const Envelope*>& messages,
                             const std::function<const Route*(const Envelope&, const std::string&)>& route_of,
                             int batch_limit, int spread, int local_batch_limit) {
    DeliveryPlan plan;
    std::map<std::string, std::vector<std::pair<size_t, std::vector<size_t>>>> remote;
    std::map<std::string, const Route*> remote_route;
    std::vector<std::string> order;  // routes in the order first seen
    std::vector<std::pair<size_t, std::vector<size_t>>> local_parts;
    const Route* local_route = nullptr;
    for (size_t m = 0; m < messages.size(); ++m) {
        const Envelope& e = *messages[m];
        std::vector<size_t> local;
        std::map<std::string, std::vector<size_t>> by_route;
        for (size_t i = 0; i < e.recipients.size(); ++i) {
            auto& r = e.recipients[i];
            if (r.state != RcptState::pending) continue;
            const Route* route = route_of(e, ascii::lower(r.address.domain().str()));
            if (route->kind == RouteKind::local) {
                local.push_back(i);
                local_route = route;
            } else if (route->kind == RouteKind::error) {
                plan.errors.emplace_back(m, i, route);
            } else {
                std::string key = route->str();
                by_route[key].push_back(i);
                if (!remote_route.count(key)) order.push_back(key);
                remote_route[key] = route;
            }
        }
        if (!local.empty()) local_parts.push_back({m, local});
        for (auto& [key, idx] : by_route) remote[key].push_back({m, idx});
    }
    size_t lanes = size_t(std::max(1, spread));
    // `parts` in runs of at most `limit`: a whole number of runs per lane,
    // all of about the same size, so that the lanes end together. What fits
    // one run goes in one. With `least` set, the runs are a whole number
    // per lane only as far as each keeps at least `least` parts.
    auto split = [&](const std::vector<std::pair<size_t, std::vector<size_t>>>& parts, size_t limit, size_t least,
                     StageJob proto) {
        size_t n = parts.size();
        size_t fewest = (n + limit - 1) / limit;
        size_t per_lane = std::min(n, (fewest + lanes - 1) / lanes * lanes);
        size_t runs = least > 0 ? std::max(fewest, std::min(per_lane, n / least))
                                : fewest > 1 ? per_lane : fewest;
        for (size_t r = 0; r < runs; ++r) {
            StageJob j = proto;
            for (size_t k = (r * n + runs - 1) / runs; k < ((r + 1) * n + runs - 1) / runs; ++k)
                j.parts.push_back(parts[k]);
            plan.jobs.push_back(std::move(j));
        }
    };
    if (!local_parts.empty()) {
        StageJob j;
        j.local = true;
        j.route = local_route;
        j.destination = "local";
        int local_limit = local_batch_limit > 0 ? local_batch_limit : batch_limit;
        split(local_parts, size_t(std::max(1, local_limit)), local_run_least, j);
    }
    for (auto& key : order) {
        StageJob j;
        j.route = remote_route[key];
        j.destination = destination_of(*j.route);
        split(remote[key], size_t(std::max(1, batch_limit)), 0, j);
    }
    return plan;
}

Status parse_reply(std::string_view reply, Outcome fallback) {
    Status s;
    s.outcome = fallback;
    s.code = fallback == Outcome::ok ? 250 : fallback == Outcome::temporary ? 451 : 554;
    s.enhanced = fallback == Outcome::ok ? "2.0.0" : fallback == Outcome::temporary ? "4.0.0" : "5.0.0";
    s.text = std::string(reply);
    if (reply.size() >= 3 && std::isdigit(static_cast<unsigned char>(reply[0])) &&
        std::isdigit(static_cast<unsigned char>(reply[1])) && std::isdigit(static_cast<unsigned char>(reply[2])) &&
        (reply.size() == 3 || reply[3] == ' ')) {
        s.code = (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
        std::string_view rest = reply.size() > 4 ? reply.substr(4) : std::string_view();
        auto sp = rest.find(' ');
        std::string_view first = rest.substr(0, sp);
        if (is_enhanced_code(first)) {
            s.enhanced = std::string(first);
            rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
        }
        s.text = std::string(rest);
    }
    return s;
}

struct QueueRunner::Work {
    std::optional<Spool::Claim> claim;
    Envelope env;
    bool dying = false;      // lifetime over: a temporary failure is final
    steady::time_point claimed;
    bool touched = false;    // outcomes recorded before any stage ran
    bool removed = false;    // finished and removed during the pass
};


// One chunk of a pass: its claimed messages and what to run for them.
struct QueueRunner::Chunk {
    std::vector<std::unique_ptr<Work>> works;
    DeliveryPlan plan;
};

QueueRunner::QueueRunner(const Spool& spool, QueueConfig config)
    : spool_(spool), cfg_(std::move(config)), network_user_(unprivileged_stage_user(spool.root())) {}

PassResult QueueRunner::run() {
    PassResult res;
    spool_.check();
    PassLock lock(spool_.root(), network_user_);
    if (!lock.held()) {
        res.locked_out = true;
        return res;
    }
    std::time_t now = clock::now();
    // Recovery removes only files older than 36 hours, so once an hour is
    // as good as every run; the lock file's mtime says when it last ran.
    if (lock.last_recovery() > now || now - lock.last_recovery() >= recovery_interval) {
        auto rec = spool_.recover(now);
        if (rec.temporary_removed || rec.orphans_removed)
            log::info("recovery: removed {} temporary files and {} orphaned messages", rec.temporary_removed,
                      rec.orphans_removed);
        lock.mark_recovery(now);
    }
    forget_old_routes();
    std::vector<QueueId> due = spool_.due(now);
    std::vector<std::vector<QueueId>> chunks;
    size_t chunk = std::max<size_t>(1, cfg_.chunk);
    for (size_t i = 0; i < due.size(); i += chunk)
        chunks.emplace_back(due.begin() + long(i), due.begin() + long(std::min(due.size(), i + chunk)));
    // While one chunk's stages run, the next chunk is claimed, read and
    // planned beside them, so the connections do not wait for that. Two
    // chunks hold a descriptor per message: without room for them, one
    // chunk at a time.
    struct rlimit rl;
    bool overlap = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 2 * chunk + 1024;
    std::unique_ptr<Chunk> current;
    if (!chunks.empty()) current = prepare(chunks[0], now, res);
    for (size_t k = 0; k < chunks.size(); ++k) {
        std::unique_ptr<Chunk> next;
        bool has_next = k + 1 < chunks.size();
        if (has_next && overlap) {
            PassResult pres;  // merged after the join: no shared counters
            std::exception_ptr failed;
            std::thread claimer([&] {
                try {
                    next = prepare(chunks[k + 1], now, pres);
                } catch (...) {
                    failed = std::current_exception();
                }
            });
            try {
                deliver(*current, now, res);
            } catch (...) {
                claimer.join();
                throw;
            }
            claimer.join();
            if (failed) std::rethrow_exception(failed);
            res.messages += pres.messages;
            res.sent += pres.sent;
            res.deferred += pres.deferred;
            res.bounced += pres.bounced;
            res.removed += pres.removed;
            res.notifications += pres.notifications;
        } else {
            deliver(*current, now, res);
            if (has_next) next = prepare(chunks[k + 1], now, res);
        }
        // No more descriptors open than two chunks' claims.
        released_.wait();
        current = std::move(next);
    }
    return res;
}

void QueueRunner::repair_notifications(Work& w) {
    // A notification marked "pending B" whose report B never got queued
    // (a crash in between) is made again; one that did is marked sent.
    for (auto& r : w.env.recipients) {
        for (auto it = r.extra.begin(); it != r.extra.end(); ++it) {
            if (it->first != "dsn" || !it->second.starts_with("pending ")) continue;
            std::string b = it->second.substr(8);
            auto bid = QueueId::parse(b);
            if (bid && (exists(spool_.path("env", *bid)) || exists(spool_.path("hold", *bid))))
                it->second = "sent " + b;
            else
                r.extra.erase(it);
            break;
        }
    }
}

namespace {
std::string dsn_mark(const Recipient& r) {
    for (auto& [k, v] : r.extra)
        if (k == "dsn") return v;
    return "";
}
// True when a finished message still owes its sender a report (or a log
// line saying why not).
bool owes_report(const Envelope& e) {
    for (auto& r : e.recipients) {
        if (!dsn_mark(r).empty()) continue;
        if (r.state == RcptState::failed) return true;
        if (r.state == RcptState::sent && r.remote == "local" && !r.notify.empty() &&
            notify_wants(r.notify, DsnAction::delivered))
            return true;
    }
    return false;
}
void set_dsn_mark(Recipient& r, std::string v) {
    for (auto& [k, val] : r.extra)
        if (k == "dsn") {
            val = std::move(v);
            return;
        }
    r.extra.emplace_back("dsn", std::move(v));
}
}  // namespace

std::unique_ptr<QueueRunner::Chunk> QueueRunner::prepare(const std::vector<QueueId>& ids, std::time_t now,
                                                         PassResult& res) {
    auto chunk = std::make_unique<Chunk>();
    auto& works = chunk->works;
    for (auto& id : ids) {
        // Held, not removed: a file damaged for another reason (the disk's,
        // a hand's) may be an acknowledged message's. False when the hold
        // failed (the next pass tries again).
        auto hold_damaged = [&](const std::string& what, const std::string& shown_by) {
            try {
                spool_.hold(id);
            } catch (const Error& e) {
                log::error("{}: {}; not delivered, and it cannot be held: {}", id.str(), what, e.what());
                return false;
            }
            log::error("{}: {}; held, not delivered ({}, `mta-queue delete {}` removes it)", id.str(), what, shown_by,
                       id.str());
            return true;
        };
        // The envelope, or why the file holds none; nullopt after a failure
        // to read it (logged; the next pass tries again).
        auto read_envelope = [&]() -> std::optional<Spool::Loaded> {
            try {
                return spool_.load_or_damage(id);
            } catch (const Error& e) {
                log::warning("{}: cannot read the envelope: {}", id.str(), e.what());
                return std::nullopt;
            }
        };
        auto claim = spool_.claim(id);
        if (!claim) {
            // Once a runner (run --loop makes many passes a minute).
            if (!gone_reported_.count(id) && spool_.content_gone(id)) {
                auto read = read_envelope();
                if (!read) continue;
                // Neither a received file with its trailer nor an envelope:
                // what a power cut can leave of a receipt it interrupted.
                if (!read->damage) {
                    log::warning(
                        "{}: the content (msg/{}) is gone: not delivered; `mta-queue delete {}` removes the envelope",
                        id.str(), id.str(), id.str());
                    gone_reported_.insert(id);
                } else if (hold_damaged("the file has neither its trailer nor an envelope (" + *read->damage +
                                            "): a power cut during its commit leaves such a file, and so may damage",
                                        "what is left of it is hold/" + id.str() + " in the spool")) {
                    gone_reported_.insert(id);
                }
            }
            continue;
        }
        if (!claim->intact()) {
            hold_damaged("the received file fails its checksum: a power cut interrupted its commit, which was never "
                         "acknowledged",
                         "`mta-queue cat " + id.str() + "` shows it");
            continue;
        }
        auto read = read_envelope();
        if (!read) continue;
        if (read->damage) {
            // A broken envelope (as above, or a hand's) is held once rather
            // than read again at every pass.
            hold_damaged("its envelope cannot be read: " + *read->damage,
                         "`mta-queue cat " + id.str() + "` shows its content");
            continue;
        }
        std::optional<Envelope>& env = read->envelope;
        if (!env || spool_.is_held(id)) continue;
        auto w = std::make_unique<Work>();
        w->claim = std::move(claim);
        w->env = std::move(*env);
        w->env.id = id;
        w->dying = cfg_.schedule.expired(w->env.arrival, now);
        w->claimed = steady::now();
        repair_notifications(*w);
        ++res.messages;
        if (w->env.all_final()) {
            // Finished in an earlier, interrupted pass.
            finish(*w, now, res);
            continue;
        }
        log::info("{}: from={}, size={}, nrcpt={} (queue active)", id.str(), w->env.sender.path(), w->env.size,
                  w->env.count(RcptState::pending));
        works.push_back(std::move(w));
    }
    if (works.empty()) return chunk;

    // Routes: one mta-route run for every domain this chunk needs, and
    // one for each sender whose answers a sender rule may change.
    auto each_pending_domain = [&](auto&& fn) {
        for (auto& w : works)
            for (auto& r : w->env.recipients)
                if (r.state == RcptState::pending && !r.address.domain().empty())
                    fn(*w, ascii::lower(r.address.domain().str()));
    };
    auto add_once = [](std::vector<std::string>& v, const std::string& d) {
        if (std::find(v.begin(), v.end(), d) == v.end()) v.push_back(d);
    };
    std::vector<std::string> need;
    each_pending_domain([&](const Work&, const std::string& d) {
        if (!routes_.count(d)) add_once(need, d);
    });
    if (!need.empty()) resolve(need);
    std::map<std::string, std::vector<std::string>> per_sender;  // sender → domains
    each_pending_domain([&](const Work& w, const std::string& d) {
        if (!routes_.at(d).route.ask_sender) return;
        std::string who = sender_key(w.env.sender);
        if (!routes_.count(route_key(d, who))) add_once(per_sender[who], d);
    });
    for (auto& [who, ds] : per_sender) resolve(ds, who);
    static const Route local_route = [] {
        Route r;
        r.kind = RouteKind::local;
        return r;
    }();

    std::vector<const Envelope*> envs;
    for (auto& w : works) envs.push_back(&w->env);
    DeliveryPlan& plan = chunk->plan;
    plan = plan_deliveries(
        envs,
        [&](const Envelope& e, const std::string& d) -> const Route* {
            return d.empty() ? &local_route : &route_for(d, e.sender);
        },
        cfg_.batch_limit, cfg_.destination_concurrency, cfg_.local_batch_limit);
    for (auto& [m, i, route] : plan.errors) {
        // An error route is an outcome without a stage run.
        Work* w = works[m].get();
        w->touched = true;
        Status st = route->error;
        if (st.is_ok()) st = Status::temporary(451, "4.4.3", "no route to " + route->domain);
        auto& rr = w->env.recipients[i];
        bool final = st.outcome == Outcome::permanent || w->dying;
        if (st.outcome == Outcome::temporary && w->dying)
            st = Status::permanent(554, "5.4.7", "delivery time expired; last error: " + st.reply());
        rr.state = final ? RcptState::failed : RcptState::pending;
        rr.attempts++;
        rr.last = st.reply();
        rr.remote = "";
        rr.updated = now;
        log::Delivery d;
        d.queue_id = w->env.id->str();
        d.to = rr.address.str();
        d.relay = "none";
        d.delay = double(now - w->env.arrival);
        d.delays[0] = d.delay;
        d.dsn = st.enhanced;
        d.status = final ? "bounced" : "deferred";
        d.text = st.reply();
        log::write(log::Level::info, log::format(d));
        (final ? res.bounced : res.deferred)++;
    }
    // Error-route outcomes are recorded before the stages run.
    std::vector<const Envelope*> touched;
    for (auto& w : works)
        if (w->touched) touched.push_back(&w->env);
    record_outcomes(spool_, touched);

    return chunk;
}

void QueueRunner::deliver(Chunk& chunk, std::time_t now, PassResult& res) {
    std::vector<std::string> dest;
    for (auto& j : chunk.plan.jobs) dest.push_back(j.destination);
    run_limited(dest, cfg_.concurrency, cfg_.destination_concurrency,
                [&](size_t i) { run_job(chunk.plan.jobs[i], chunk.works, now, res); });

    for (auto& w : chunk.works) finish(*w, now, res);
}

void QueueRunner::forget_old_routes() {
    auto now = steady::now();
    for (auto it = routes_.begin(); it != routes_.end();) {
        const Route& r = it->second.route;
        bool temporary = r.kind == RouteKind::error && r.error.outcome != Outcome::permanent;
        if (temporary || now - it->second.asked >= std::chrono::seconds(cfg_.route_cache))
            it = routes_.erase(it);
        else
            ++it;
    }
}

const Route& QueueRunner::route_for(const std::string& domain, const Address& sender) const {
    const Route& r = routes_.at(domain).route;
    return r.ask_sender ? routes_.at(route_key(domain, sender_key(sender))).route : r;
}

void QueueRunner::resolve(const std::vector<std::string>& domains, const std::optional<std::string>& sender) {
    auto asked = steady::now();
    StageRun run;
    run.user = network_user_;
    run.argv.push_back(cfg_.route_program);
    if (sender) run.argv.insert(run.argv.end(), {"--sender", *sender});
    for (auto& d : domains) run.argv.push_back(d);
    auto key = [&](const std::string& d) { return sender ? route_key(d, *sender) : d; };
    run.timeout = cfg_.route_timeout;
    StageExit e = run_stage(run);
    size_t pos = 0;
    while (pos < e.out.size()) {
        size_t nl = e.out.find('\n', pos);
        std::string line = e.out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? e.out.size() : nl + 1;
        if (line.rfind("domain=", 0) != 0) continue;
        try {
            Route r = parse_route(line);
            std::string d = ascii::lower(r.domain);
            // An answer for a sender says no more than it is.
            if (sender) r.ask_sender = false;
            if (std::find(domains.begin(), domains.end(), d) != domains.end() && !routes_.count(key(d)))
                routes_[key(d)] = {std::move(r), asked};
        } catch (const Error& err) {
            log::warning("mta-route printed a bad route line: {}", err.what());
        }
    }
    for (auto& d : domains) {
        if (routes_.count(key(d))) continue;
        Route r;
        r.domain = d;
        r.kind = RouteKind::error;
        std::string why = "no route for " + d + " (" + cfg_.route_program + " " + e.describe() + ")";
        r.error = Status::temporary(451, "4.4.3", why);
        if (!e.exited_ok()) log::warning("route lookup for {} failed: {}", d, e.describe());
        routes_[key(d)] = {std::move(r), asked};
    }
}

void QueueRunner::run_job(const StageJob& job, std::vector<std::unique_ptr<Work>>& works, std::time_t now,
                          PassResult& res) {
    StageRun run;
    std::string program;
    program = job.local ? cfg_.deliver_program : cfg_.send_program;
    run.argv = {program};
    if (!job.local) run.argv.insert(run.argv.end(), {"--route", job.route->str()});
    // A local batch has the time its messages would have had one by one.
    // (at most INT_MAX seconds: a limit of a week times a large batch
    // would not fit an int)
    run.timeout = job.local ? int(std::min<long long>(std::numeric_limits<int>::max(),
                                                      (long long)cfg_.deliver_timeout * (long long)job.parts.size()))
                            : cfg_.send_timeout;
    auto job_of = [&](const std::pair<size_t, std::vector<size_t>>& part) {
        const Envelope& env = works[part.first]->env;
        BatchJob b{env.id->str(), env.sender.str(), {}};
        for (size_t i : part.second) b.recipients.push_back(env.recipients[i].address.str());
        return b;
    };
    if (job.parts.size() == 1) {
        BatchJob b = job_of(job.parts[0]);
        run.argv.insert(run.argv.end(), {"-f", b.sender, "--id", b.id});
        run.argv.insert(run.argv.end(), b.recipients.begin(), b.recipients.end());
    } else {
        run.argv.push_back("--batch");
        for (auto& part : job.parts) run.input += job_of(part).str() + "\n";
    }
    if (!job.local) run.user = network_user_;
    auto started = steady::now();
    StageExit e = run_stage(run);
    std::vector<ResultLine> lines = result_lines(e.out);
    std::vector<bool> used(lines.size(), false);
    std::string name = program.substr(program.rfind('/') + 1);
    if (!e.exited_ok() && (e.signal || e.timed_out || e.not_started))
        log::warning("{} {}", name, e.describe());

    std::vector<Work*> finished;  // every recipient final, nothing to report
    std::vector<const Envelope*> to_record;
    std::unique_lock lk(mu_);
    for (auto& [m, idx] : job.parts) {
        Work* w = works[m].get();
        const std::string& id = w->env.id->str();
        for (size_t i : idx) {
            auto& r = w->env.recipients[i];
            std::string want = r.address.str();
            const ResultLine* found = nullptr;
            for (int pass = 0; pass < 2 && !found; ++pass)
                for (size_t k = 0; k < lines.size(); ++k) {
                    if (used[k]) continue;
                    bool id_ok = lines[k].queue_id == id || (job.parts.size() == 1 && lines[k].queue_id == "-");
                    bool rcpt_ok = pass == 0 ? lines[k].recipient == want : ascii::iequal(lines[k].recipient, want);
                    if (id_ok && rcpt_ok) {
                        found = &lines[k];
                        used[k] = true;
                        break;
                    }
                }
            Status st = found ? found->status : missing_result(e, name);
            std::string host = found ? found->host : "-";
            bool final = st.outcome != Outcome::temporary;
            if (!final && w->dying) {
                st = Status::permanent(554, "5.4.7", "delivery time expired; last error: " + st.reply());
                final = true;
            }
            r.state = st.outcome == Outcome::ok ? RcptState::sent : final ? RcptState::failed : RcptState::pending;
            r.attempts++;
            r.last = st.reply();
            r.remote = host == "-" ? "" : host;
            r.updated = now;
            log::Delivery d;
            d.queue_id = id;
            d.to = want;
            d.relay = relay_of(host);
            double a = double(now - w->env.arrival);
            double b = std::chrono::duration<double>(started - w->claimed).count();
            d.delays[0] = a;
            d.delays[1] = b;
            d.delays[2] = 0;
            d.delays[3] = e.seconds;
            d.delay = a + b + e.seconds;
            d.dsn = st.enhanced;
            d.status = st.outcome == Outcome::ok ? "sent" : final ? "bounced" : "deferred";
            d.text = st.reply();
            log::write(log::Level::info, log::format(d));
            (st.outcome == Outcome::ok ? res.sent : final ? res.bounced : res.deferred)++;
        }
        if (w->env.all_final() && !owes_report(w->env)) {
            // Nothing more to do: the removal is the record.
            finished.push_back(w);
            continue;
        }
        to_record.push_back(&w->env);
    }
    record_outcomes(spool_, to_record);
    if (finished.empty()) return;
    // The finished messages are this job's alone now (no recipient of
    // theirs is in another job), so they are removed without the lock,
    // beside the other jobs. Their claims are closed in the background:
    // the kernel frees an unlinked file when its last descriptor closes,
    // which waits for the disk on some file systems (BackgroundRelease).
    lk.unlock();
    std::vector<QueueId> ids;
    for (Work* w : finished) ids.push_back(*w->env.id);
    std::vector<bool> gone = remove_messages(spool_, ids);
    std::vector<Spool::Claim> claims;
    for (size_t k = 0; k < finished.size(); ++k)
        if (gone[k]) {
            claims.push_back(std::move(*finished[k]->claim));
            finished[k]->claim.reset();
        }
    released_.later(RemovedFiles(std::move(claims)));
    lk.lock();
    for (size_t k = 0; k < finished.size(); ++k) {
        if (!gone[k]) continue;  // finish() tries again
        log::info("{}: removed", ids[k].str());
        finished[k]->removed = true;
        ++res.removed;
    }
}

void QueueRunner::notify(Work& w, std::time_t now, PassResult& res) {
    const std::string& id = w.env.id->str();
    // Who is owed a report: failed recipients (NOTIFY FAILURE), local
    // deliveries that asked for SUCCESS; each one once.
    std::vector<size_t> owed;
    for (size_t i = 0; i < w.env.recipients.size(); ++i) {
        auto& r = w.env.recipients[i];
        if (!dsn_mark(r).empty()) continue;
        if (r.state == RcptState::failed) {
            if (notify_wants(r.notify, DsnAction::failed)) owed.push_back(i);
            else set_dsn_mark(r, "none");
        } else if (r.state == RcptState::sent) {
            if (r.remote == "local" && notify_wants(r.notify, DsnAction::delivered) && !r.notify.empty())
                owed.push_back(i);
            else set_dsn_mark(r, "none");
        }
    }
    if (owed.empty()) return;
    if (w.env.sender.is_null()) {
        // RFC 5321 4.5.5: never a report about a report.
        size_t failed = 0;
        for (size_t i : owed) {
            failed += w.env.recipients[i].state == RcptState::failed;
            set_dsn_mark(w.env.recipients[i], "none");
        }
        if (failed) log::info("{}: sender is <>: no non-delivery notification for {} failed recipient{}", id, failed,
                              failed == 1 ? "" : "s");
        return;
    }
    auto incoming = spool_.receive();
    QueueId bid = incoming.id();
    for (size_t i : owed) set_dsn_mark(w.env.recipients[i], "pending " + bid.str());
    std::time_t keep_next = w.env.next_attempt;
    w.env.next_attempt = std::min(w.env.next_attempt, now);
    spool_.update(w.env);

    std::string content = w.claim->read_all();
    DsnReport rep = report_about(w.env, bid, content, cfg_.hostname, now);
    rep.return_limit = cfg_.return_limit;
    bool any_failed = false;
    for (size_t i : owed) {
        auto& r = w.env.recipients[i];
        bool failed = r.state == RcptState::failed;
        any_failed = any_failed || failed;
        Status status = parse_reply(r.last, failed ? Outcome::permanent : Outcome::ok);
        if (failed && status.enhanced[0] != '5') {
            status.enhanced[0] = '5';
            status.outcome = Outcome::permanent;
        }
        rep.recipients.push_back(report_line(r, failed ? DsnAction::failed : DsnAction::delivered, std::move(status)));
    }
    queue_report(incoming, w.env, make_dsn(rep), now);
    ++res.notifications;
    log::info("{}: sender {} notification: {}", id, any_failed ? "non-delivery" : "delivery status", bid.str());
    for (size_t i : owed) set_dsn_mark(w.env.recipients[i], "sent " + bid.str());
    w.env.next_attempt = keep_next;
}

void QueueRunner::finish(Work& w, std::time_t now, PassResult& res) {
    std::lock_guard lk(mu_);
    if (w.removed) return;
    const std::string& id = w.env.id->str();
    try {
        notify(w, now, res);
        if (w.env.all_final()) {
            if (w.dying && w.env.count(RcptState::failed))
                log::info("{}: from={}, status=expired, returned to sender", id, w.env.sender.path());
            spool_.remove(*w.env.id);
            log::info("{}: removed", id);
            ++res.removed;
            return;
        }
        w.env.attempts++;
        w.env.next_attempt = cfg_.schedule.next_attempt(w.env.arrival, now, w.env.attempts);
        if (cfg_.schedule.warning_due(w.env.arrival, now) && w.env.get_extra("delay-warned").empty() &&
            !w.env.sender.is_null()) {
            std::vector<size_t> want;
            for (size_t i = 0; i < w.env.recipients.size(); ++i)
                if (w.env.recipients[i].state == RcptState::pending &&
                    notify_wants(w.env.recipients[i].notify, DsnAction::delayed))
                    want.push_back(i);
            if (!want.empty()) {
                auto incoming = spool_.receive();
                std::string content = w.claim->read_all();
                Envelope orig_copy = w.env;  // the warning quotes headers only
                orig_copy.ret = "HDRS";
                DsnReport rep = report_about(orig_copy, incoming.id(), content, cfg_.hostname, now);
                rep.will_retry_until = w.env.arrival + cfg_.schedule.max_lifetime;
                rep.return_limit = 0;  // headers only in a warning
                for (size_t i : want) {
                    auto& r = w.env.recipients[i];
                    Status status = parse_reply(r.last, Outcome::temporary);
                    if (status.enhanced[0] != '4') status.enhanced = "4.0.0";
                    rep.recipients.push_back(report_line(r, DsnAction::delayed, std::move(status)));
                }
                queue_report(incoming, w.env, make_dsn(rep), now);
                ++res.notifications;
                log::info("{}: sender delay notification: {}", id, rep.dsn_id.str());
                w.env.set_extra("delay-warned", rep.dsn_id.str());
            }
        }
        spool_.update(w.env);
    } catch (const Error& e) {
        log::warning("{}: {}", id, e.what());
    }
}

bool QueueRunner::return_to_sender(const QueueId& id) {
    auto claim = spool_.claim(id);
    if (!claim) return false;
    auto env = spool_.load_or_damage(id).envelope;  // none when damaged
    if (!env) return false;
    std::time_t now = clock::now();
    Work w;
    w.claim = std::move(claim);
    w.env = std::move(*env);
    w.env.id = id;
    repair_notifications(w);
    for (auto& r : w.env.recipients) {
        if (r.state != RcptState::pending) continue;
        r.state = RcptState::failed;
        r.last = "550 5.0.0 returned to sender by the mail administrator" +
                 (r.last.empty() ? std::string() : " (last error: " + r.last + ")");
        r.updated = now;
        log::Delivery d;
        d.queue_id = id.str();
        d.to = r.address.str();
        d.relay = "none";
        d.delay = double(now - w.env.arrival);
        d.delays[0] = d.delay;
        d.dsn = "5.0.0";
        d.status = "bounced";
        d.text = r.last;
        log::write(log::Level::info, log::format(d));
    }
    // Held messages are returned too: the envelope moves back first so
    // that the usual removal applies.
    if (spool_.is_held(id)) spool_.release(id);
    PassResult res;
    spool_.update(w.env);
    finish(w, now, res);
    return true;
}

}  // namespace mta
