// queue_runner: one pass over the spool, and the operations on single
// messages that need the same rules (return to sender, notifications).
//
// A pass: take the global lock (<spool>/lock, flock, non-blocking: an
// overlapping pass returns at once), garbage-collect the spool, claim the
// due messages (Spool::claim) a chunk at a time (the next chunk while the
// stages of the current one run), ask mta-route once per
// domain, group each message's pending recipients by route, and run
// mta-deliver (local) and mta-send (remote), with --batch when a run has
// several messages (for mta-send, one connection carries them), within a total and a per-destination concurrency limit. Each outcome is
// written to the envelope (Spool::update) as soon as its stage ends; a
// message whose recipients are all final is reported (RFC 3464, lib/dsn)
// and removed; the others get their next attempt from the RetrySchedule.
#pragma once

#include "background_release.hpp"
#include "retry_schedule.hpp"
#include "route.hpp"
#include "spool.hpp"
#include "stage_program.hpp"

#include <chrono>
#include <ctime>
#include <functional>
#include <tuple>
#include <map>
#include <memory>
#include <set>
#include <mutex>
#include <string>
#include <vector>

namespace mta {

struct QueueConfig {
    std::string route_program;    // mta-route
    std::string send_program;     // mta-send
    std::string deliver_program;  // mta-deliver
    int route_timeout = 300;      // seconds for one mta-route run
    int route_cache = 30;         // seconds an answer of mta-route serves later passes of this runner
    int send_timeout = 3600;      // seconds for one mta-send run
    int deliver_timeout = 1800;   // seconds for one mta-deliver run, per message in a batch
    int concurrency = 10;         // stage programs running at once
    int destination_concurrency = 4;  // of those, to one destination
    int batch_limit = 50;         // messages per --batch run of mta-send
    int local_batch_limit = 500;  // messages per --batch run of mta-deliver
    size_t chunk = 500;           // messages claimed at once
    size_t return_limit = 50000;  // bytes returned in a bounce without RET=FULL
    RetrySchedule schedule;
    std::string hostname;         // Reporting-MTA, MAILER-DAEMON@
};

struct PassResult {
    bool locked_out = false;  // another pass holds the lock
    int messages = 0;         // messages claimed
    int sent = 0, deferred = 0, bounced = 0;  // recipient outcomes
    int removed = 0;          // messages that left the spool
    int notifications = 0;    // DSNs queued
};

// One stage run of a pass: the local recipients of one or more messages
// (mta-deliver), or the recipients of one or more messages that share a
// route (mta-send).
struct StageJob {
    bool local = false;
    const Route* route = nullptr;  // the shared route (the local route for local jobs)
    std::string destination;       // what the per-destination limit counts: domain or relay
    std::vector<std::pair<size_t, std::vector<size_t>>> parts;  // message index, its recipient indexes
};

struct DeliveryPlan {
    std::vector<StageJob> jobs;
    // Pending recipients whose route is an error: (message, recipient, route).
    std::vector<std::tuple<size_t, size_t, const Route*>> errors;
};

// The fewest messages in a local run that the local recipients are spread
// for: below it, one mta-deliver run costs more (its start, about 20 ms of
// CPU) than running beside another gains, as mta-deliver already syncs the
// files of a group together (lib/local_delivery).
constexpr size_t local_run_least = 128;

// Groups the pending recipients of `messages` by route. For each remote
// route: one run when its messages fit batch_limit, otherwise runs of at
// most batch_limit messages split evenly into a multiple of `spread` runs
// (the per-destination concurrency), so that every allowed connection
// carries a share and they finish together. The local recipients: the
// same with local_batch_limit (batch_limit when 0), except that what fits
// one run is still spread over up to `spread` runs of at least
// local_run_least messages (local deliveries wait for the disk, and do so
// in parallel).
// route_of(message, lower-cased domain or "" for a bare local part) never
// returns null (the message: its sender may choose the route, mta-routes(5)).
DeliveryPlan plan_deliveries(const std::vector<const Envelope*>& messages,
                             const std::function<const Route*(const Envelope&, const std::string&)>& route_of,
                             int batch_limit,
                             int spread = 1, int local_batch_limit = 0);

class QueueRunner {
public:
    QueueRunner(const Spool& spool, QueueConfig config);

    // One pass at clock::now(). Throws Error only when the spool itself
    // is unusable.
    PassResult run();

    // Returns a message to its sender now: every pending recipient fails
    // with 5.0.0 and the message is reported and removed. False when the
    // message is busy (claimed by a pass), gone, or its file damaged.
    bool return_to_sender(const QueueId& id);

private:
    struct Work;
    struct Chunk;
    const Spool& spool_;
    QueueConfig cfg_;
    // mta-route's answers, by domain (by domain and sender for those asked
    // with --sender, route_key()): this pass's, and those of earlier
    // passes younger than route_cache seconds (but for temporary errors).
    // Within a pass only prepare() adds to it; jobs hold pointers to its
    // entries, which insertions leave in place.
    struct Answer {
        Route route;
        std::chrono::steady_clock::time_point asked;
    };
    std::map<std::string, Answer> routes_;
    // Whom mta-route and mta-send run as when the runner is root: the
    // spool's owner (mta-deliver keeps root to become each recipient).
    std::optional<StageUser> network_user_;
    std::mutex mu_;                        // envelope updates and counters
    // Messages whose content is gone that this runner has warned of
    // (prepare() alone, one chunk at a time).
    std::set<QueueId> gone_reported_;
    // The claims of removed messages, closed beside the jobs (closing the
    // last descriptor of a removed file may wait for the disk).
    BackgroundRelease released_;

    // Claims and reads a chunk's messages, asks for their routes and plans
    // the stage runs; error routes' outcomes are recorded here.
    std::unique_ptr<Chunk> prepare(const std::vector<QueueId>& ids, std::time_t now, PassResult& res);
    // Runs the chunk's stages, then finishes its messages.
    void deliver(Chunk& chunk, std::time_t now, PassResult& res);
    // Asks mta-route for the routes of `domains`, for `sender` (with
    // --sender; a lower-cased address or "<>") when given, and keeps them
    // under route_key().
    void resolve(const std::vector<std::string>& domains, const std::optional<std::string>& sender = std::nullopt);
    // The route of the pending recipients at `domain` of a message from
    // `sender`: the domain's answer, or the sender's when it says ask.
    const Route& route_for(const std::string& domain, const Address& sender) const;
    // Drops the routes older than route_cache seconds, and temporary errors.
    // Only at the start of a pass, when no job points into routes_.
    void forget_old_routes();
    void run_job(const StageJob& job, std::vector<std::unique_ptr<Work>>& works, std::time_t now, PassResult& res);
    void finish(Work& w, std::time_t now, PassResult& res);
    void notify(Work& w, std::time_t now, PassResult& res);
    void repair_notifications(Work& w);
};

// Parses "550 5.1.1 text" (the envelope's last-reply field) into a Status.
Status parse_reply(std::string_view reply, Outcome fallback);

}  // namespace mta
