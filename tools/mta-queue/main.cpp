// mta-queue: the queue runner and the queue tools (man/mta-queue.8).
#include "cli/command.hpp"
#include "clock.hpp"
#include "config.hpp"
#include "heap.hpp"
#include "log.hpp"
#include "queue_control.hpp"
#include "queue_runner.hpp"
#include "queue_trigger.hpp"
#include "status.hpp"

#include <climits>
#include <csignal>
#include <cstdio>
#include <optional>
#include <sys/resource.h>
#include <unistd.h>

using namespace mta;

namespace {

// The directory mta-queue itself lives in: stages default to its siblings.
std::string own_directory() {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    std::string p(buf, size_t(n));
    return p.substr(0, p.rfind('/'));
}

QueueId parse_id(const std::string& s) {
    auto id = QueueId::parse(s);
    if (!id) throw Error::usage("not a queue id: " + s);
    return *id;
}

int control_exit(Control c, const std::string& id) {
    switch (c) {
    case Control::done: return ex::ok;
    case Control::busy:
        std::fprintf(stderr, "mta-queue: %s is being delivered; try again later\n", id.c_str());
        return ex::tempfail;
    case Control::missing:
        std::fprintf(stderr, "mta-queue: %s: no such message in the queue\n", id.c_str());
        return ex::noinput;
    case Control::content_gone:
        std::fprintf(stderr, "mta-queue: %s: its content (msg/%s) is gone; only delete removes it\n", id.c_str(),
                     id.c_str());
        return ex::dataerr;
    case Control::damaged:
        std::fprintf(stderr, "mta-queue: %s: its file is damaged (no envelope can be read); only delete removes it\n",
                     id.c_str());
        return ex::dataerr;
    }
    return ex::software;
}

void raise_file_limit() {
    struct rlimit rl;
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

}  // namespace

int main(int argc, char** argv) {
    // A stage that exits without reading its input must not kill the runner.
    std::signal(SIGPIPE, SIG_IGN);
    cli::Command app{"mta-queue: run and manage the mail queue"};
    config::Common common;
    config::attach(app, "mta-queue", common);
    QueueConfig q;
    std::string dir = own_directory();
    q.route_program = dir + "/mta-route";
    q.send_program = dir + "/mta-send";
    q.deliver_program = dir + "/mta-deliver";
    std::string min_backoff = "5m", max_backoff = "4h", max_lifetime = "5d", delay_warning = "0";
    app.add_option("--route-program", q.route_program, "the route stage (default: mta-route next to mta-queue)");
    app.add_option("--send-program", q.send_program, "the remote delivery stage (default: mta-send)");
    app.add_option("--deliver-program", q.deliver_program, "the local delivery stage (default: mta-deliver)");
    // Stage time limits: a second to a week.
    auto timeout = cli::Range(1, 7 * 86400);
    app.add_option("--route-timeout", q.route_timeout, "seconds one mta-route run may take")
        ->capture_default_str()
        ->check(timeout);
    app.add_option("--route-cache", q.route_cache, "seconds an answer of mta-route serves later passes of run --loop")
        ->capture_default_str()
        ->check(cli::Range(0, 86400));
    app.add_option("--send-timeout", q.send_timeout, "seconds one mta-send run may take")
        ->capture_default_str()
        ->check(timeout);
    app.add_option("--deliver-timeout", q.deliver_timeout, "seconds one mta-deliver run may take, per message")
        ->capture_default_str()
        ->check(timeout);
    app.add_option("--concurrency", q.concurrency, "stage programs running at once")
        ->capture_default_str()
        ->check(cli::Range(1, 1000));
    app.add_option("--destination-concurrency", q.destination_concurrency,
                   "stage programs running at once for one destination")
        ->capture_default_str()
        ->check(cli::Range(1, 1000));
    app.add_option("--batch-limit", q.batch_limit, "messages per --batch run of mta-send")
        ->capture_default_str()
        ->check(cli::Range(1, 100000));
    app.add_option("--local-batch-limit", q.local_batch_limit, "messages per --batch run of mta-deliver")
        ->capture_default_str()
        ->check(cli::Range(1, 100000));
    app.add_option("--min-backoff", min_backoff, "first retry delay")->capture_default_str();
    app.add_option("--max-backoff", max_backoff, "longest retry delay")->capture_default_str();
    app.add_option("--max-lifetime", max_lifetime, "time in the queue before a message is returned")
        ->capture_default_str();
    app.add_option("--delay-warning", delay_warning, "send a delay notice after this long (0: never)")
        ->capture_default_str();
    app.add_option("--bounce-size-limit", q.return_limit,
                   "largest message returned whole in a bounce without RET=FULL")
        ->capture_default_str();
    app.require_subcommand(1, 1);

    auto* init = app.add_subcommand("init", "create the spool directories");
    auto* run = app.add_subcommand("run", "one delivery pass over the due messages");
    int loop = 0;
    run->add_option("--loop", loop, "repeat the pass every SECONDS, and when a message is queued, forever")->check(cli::Range(1, 86400));
    auto* list = app.add_subcommand("list", "list the queue (mailq format)");
    bool json = false;
    list->add_flag("--json", json, "one JSON object per message");
    auto* show = app.add_subcommand("show", "show one message's envelope and delivery state");
    std::string id_arg;
    show->add_option("ID", id_arg, "queue id")->required();
    show->add_flag("--json", json, "as one JSON object");
    auto* cat = app.add_subcommand("cat", "print one message's content");
    cat->add_option("ID", id_arg, "queue id")->required();
    auto* flush = app.add_subcommand("flush", "make messages due now, then run a pass");
    std::string domain;
    flush->add_option("ID", id_arg, "only this message");
    flush->add_option("--domain", domain, "only messages with recipients in this domain");
    auto* hold = app.add_subcommand("hold", "put a message on hold");
    hold->add_option("ID", id_arg, "queue id")->required();
    auto* release = app.add_subcommand("release", "release a held message");
    release->add_option("ID", id_arg, "queue id")->required();
    auto* del = app.add_subcommand("delete", "remove a message without notice");
    del->add_option("ID", id_arg, "queue id")->required();
    auto* bounce = app.add_subcommand("bounce", "return a message to its sender now");
    bounce->add_option("ID", id_arg, "queue id")->required();
    auto* requeue = app.add_subcommand("requeue", "make every message due now and restart its backoff");
    requeue->add_option("ID", id_arg, "only this message");
    auto* stats = app.add_subcommand("stats", "counts by state and age");
    stats->add_flag("--json", json, "as one JSON object");
    auto* recover = app.add_subcommand("recover", "remove the leftovers of crashed writers");

    if (auto rc = app.parse_command_line(argc, argv)) return *rc;
    try {
        config::finish(common);
        log::open("mta/qmgr", common.log);
        q.hostname = common.hostname;
        q.schedule.min_backoff = parse_duration(min_backoff);
        q.schedule.max_backoff = parse_duration(max_backoff);
        q.schedule.max_lifetime = parse_duration(max_lifetime);
        q.schedule.delay_warning = parse_duration(delay_warning);
        q.schedule.check();
        Spool spool(common.spool);

        if (*init) {
            spool.create();
            return ex::ok;
        }
        spool.check();
        std::time_t now = clock::now();
        if (*run || *flush) {
            raise_file_limit();
            if (loop) heap::keep_freed(4 << 20);  // pass after pass (lib/heap.hpp)
            if (*flush) {
                if (!id_arg.empty()) {
                    int rc = control_exit(make_due(spool, parse_id(id_arg), now, false), id_arg);
                    if (rc) return rc;
                } else {
                    make_due_all(spool, domain, now, false);
                }
            }
            QueueRunner runner(spool, q);
            std::optional<queue_trigger::Listener> trigger;
            if (loop) {
                trigger.emplace(spool.root());
                if (!trigger->listening())
                    log::warning("cannot read {} (mta-queue init makes it): a pass every {} seconds only",
                                 queue_trigger::path(spool.root()), loop);
            }
            while (true) {
                PassResult r = runner.run();
                if (r.locked_out) log::info("another queue run is active; this one stops");
                else if (r.messages)
                    log::info("queue run: {} messages, {} sent, {} deferred, {} bounced, {} removed", r.messages,
                              r.sent, r.deferred, r.bounced, r.removed);
                if (!loop) return ex::ok;
                trigger->wait(loop);
            }
        }
        if (*list) {
            print_list(spool, json, stdout);
            return std::ferror(stdout) ? ex::ioerr : ex::ok;
        }
        if (*show) {
            std::string text = show_message(spool, parse_id(id_arg), now, json);
            std::fwrite(text.data(), 1, text.size(), stdout);
            return ex::ok;
        }
        if (*cat) {
            std::string text = message_content(spool, parse_id(id_arg));
            std::fwrite(text.data(), 1, text.size(), stdout);
            return std::fflush(stdout) == 0 && !std::ferror(stdout) ? ex::ok : ex::ioerr;
        }
        if (*hold) return control_exit(hold_message(spool, parse_id(id_arg)), id_arg);
        if (*release) return control_exit(release_message(spool, parse_id(id_arg)), id_arg);
        if (*del) return control_exit(delete_message(spool, parse_id(id_arg)), id_arg);
        if (*bounce) {
            QueueId id = parse_id(id_arg);
            QueueRunner runner(spool, q);
            if (runner.return_to_sender(id)) return ex::ok;
            return control_exit(unclaimed(spool, id), id_arg);
        }
        if (*requeue) {
            if (!id_arg.empty()) return control_exit(make_due(spool, parse_id(id_arg), now, true), id_arg);
            size_t n = make_due_all(spool, "", now, true);
            std::printf("%zu message%s requeued\n", n, n == 1 ? "" : "s");
            return ex::ok;
        }
        if (*stats) {
            std::string text = queue_stats(spool, now, json);
            std::fwrite(text.data(), 1, text.size(), stdout);
            return ex::ok;
        }
        if (*recover) {
            auto r = spool.recover(now);
            std::printf("removed %d temporary files and %d orphaned messages\n", r.temporary_removed,
                        r.orphans_removed);
            return ex::ok;
        }
    } catch (const Error& e) {
        std::fprintf(stderr, "mta-queue: %s\n", e.status().text.c_str());
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mta-queue: %s\n", e.what());
        return ex::software;
    }
    return ex::usage;
}
