#include "local_delivery.hpp"

#include "ascii.hpp"
#include "clock.hpp"
#include "durable.hpp"
#include "envelope.hpp"
#include "filesystem_sync.hpp"
#include "lmtp_client.hpp"
#include "log.hpp"
#include "maildir.hpp"
#include "pipe_delivery.hpp"
#include "spool.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <grp.h>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mta::local_delivery {

namespace {

using local_resolver::Delivery;
using local_resolver::Kind;
using local_resolver::Owner;

// What fn throws, as the status of each of n deliveries.
std::vector<Status> guarded(size_t n, const std::function<std::vector<Status>()>& fn) {
    std::vector<Status> s;
    try {
        s = fn();
    } catch (const Error& e) {
        s.assign(n, e.status());
    } catch (const std::exception& e) {
        s.assign(n, Status::temporary(451, "4.3.0", e.what()));
    }
    s.resize(n, Status::temporary(451, "4.3.0", "delivery gave no status"));
    return s;
}

Status guarded(const std::function<Status()>& fn) {
    return guarded(1, [&] { return std::vector<Status>{fn()}; })[0];
}

std::string encode(const Status& s) {
    return std::string(to_string(s.outcome)) + "\t" + std::to_string(s.code) + "\t" + s.enhanced + "\t" +
           one_line(s.text);
}

Status decode(const std::string& line) {
    size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
    if (c == std::string::npos) return Status::temporary(451, "4.3.0", "delivery process died");
    Status s;
    try {
        s.outcome = parse_outcome(line.substr(0, a));
        s.code = std::stoi(line.substr(a + 1, b - a - 1));
    } catch (...) {
        return Status::temporary(451, "4.3.0", "delivery process gave a garbled status");
    }
    s.enhanced = line.substr(b + 1, c - b - 1);
    s.text = line.substr(c + 1);
    return s;
}

// Runs fn, which gives n statuses, with the owner's rights: in a child that
// has dropped root for good when we are root and the owner is not, else
// right here. What fn throws becomes each status; those a child did not
// report (it died) are temporary.
std::vector<Status> run_as(const Owner& o, size_t n, const std::function<std::vector<Status>()>& fn) {
    if (::geteuid() != 0 || o.uid == 0) return guarded(n, fn);
    auto failed = [&](const char* what) {
        return std::vector<Status>(n, Status::temporary(451, "4.3.0", std::string(what) + ": " + std::strerror(errno)));
    };
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return failed("pipe");
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        auto s = failed("fork");
        ::close(p[0]);
        ::close(p[1]);
        return s;
    }
    if (pid == 0) {
        ::close(p[0]);
        std::vector<Status> s;
        bool groups_ok = o.user.empty() ? ::setgroups(1, &o.gid) == 0 : ::initgroups(o.user.c_str(), o.gid) == 0;
        if (!groups_ok || ::setgid(o.gid) != 0 || ::setuid(o.uid) != 0 || ::getuid() != o.uid ||
            ::geteuid() != o.uid || ::getegid() != o.gid)
            s.assign(n, Status::temporary(451, "4.3.0", "cannot switch to uid " + std::to_string(o.uid)));
        // It holds what the parent read (other owners' messages of a batch
        // too): no core dump or ptrace by the owner, and no deliveries
        // left running once the parent is gone (their results would never
        // be reported, so they would be made again). Both after setuid,
        // which resets them.
        else if (::prctl(PR_SET_DUMPABLE, 0) != 0 || ::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent)
            s.assign(n, Status::temporary(451, "4.3.0", "cannot tie the delivery process to its parent"));
        else
            s = guarded(n, fn);
        // First the steps it took, so that the parent numbers on from there.
        std::string out = std::to_string(durable::steps_taken()) + "\n";
        for (auto& st : s) out += encode(st) + "\n";
        for (size_t off = 0; off < out.size();) {
            ssize_t w = ::write(p[1], out.data() + off, out.size() - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += size_t(w);
        }
        ::_exit(0);
    }
    ::close(p[1]);
    std::string text;
    char buf[4096];
    ssize_t r;
    while ((r = ::read(p[0], buf, sizeof buf)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        text.append(buf, size_t(r));
    }
    ::close(p[0]);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) durable::child_killed();
    std::vector<std::string> lines;
    for (size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1)
        lines.push_back(text.substr(pos, nl - pos));
    if (!lines.empty()) durable::continue_steps(std::atol(lines[0].c_str()));
    std::vector<Status> out;
    for (size_t i = 0; i < n; ++i) out.push_back(decode(i + 1 < lines.size() ? lines[i + 1] : ""));
    return out;
}

Status run_as(const Owner& o, const std::function<Status()>& fn) {
    return run_as(o, 1, [&] { return std::vector<Status>{fn()}; })[0];
}

// A Maildir delivery of a batch, made later with the other deliveries of
// its group to the same owner, in one child (make_maildir_deliveries).
struct MaildirTask {
    Owner owner;
    std::string maildir;
    std::string prefix;
    std::shared_ptr<const std::string> data;               // the message in memory, or
    std::shared_ptr<const Spool::ContentFile> file = {};   // in its spool file
};

// The Maildir deliveries of a batch group so far.
struct MaildirTasks {
    std::vector<MaildirTask> list;
    size_t bytes = 0;  // of the messages they keep in memory
    size_t files = 0;  // messages they keep open in their files
};

struct Attempt {
    Status status;
    std::string relay = "local";
    std::optional<size_t> task = {};  // a MaildirTasks entry, whose status is still to come
};

// A Maildir delivery of a message in memory, or from its spool file.
void to_maildir(const std::string& dir, const std::string& prefix, std::string_view data,
                const Spool::ContentFile* file, const std::string& hostname) {
    if (file)
        maildir::deliver(dir, prefix, file->fd.get(), file->size, hostname);
    else
        maildir::deliver(dir, prefix, data, hostname);
}

std::string prefix_for(const Message& m, const std::string& rcpt) {
    return "Return-Path: " + m.sender.path() + "\nDelivered-To: " + rcpt + "\n";
}

Status forward(const Options& o, const Message& m, const std::string& rcpt, const std::string& sender,
               const std::vector<std::string>& to) {
    return guarded([&] {
        Spool spool(o.spool);
        spool.check();
        Envelope env;
        env.sender = sender.empty() ? m.sender : Address::parse(sender, Address::Options{true, false, true});
        for (auto& t : to) {
            Recipient r;
            r.address = Address::parse(t, Address::Options{false, false, true});
            env.recipients.push_back(std::move(r));
        }
        env.client = "local";
        env.protocol = "local";
        std::string storage;
        std::string_view content = whole(m, storage);
        bool eight = false;
        for (unsigned char c : content) eight = eight || c >= 0x80;
        env.body = eight ? "8BITMIME" : "7BIT";
        env.smtputf8 = env.sender.is_utf8();
        for (auto& r : env.recipients) env.smtputf8 = env.smtputf8 || r.address.is_utf8();
        Spool::Incoming in = spool.receive();
        std::string id = in.id().str();
        in.write("Delivered-To: " + rcpt + "\n");
        in.write(content);
        std::string from = env.sender.path();
        in.commit(std::move(env));
        log::info("{}: from={}, size={}, nrcpt={} (forwarded from {})", id, from, in.size(), to.size(), m.queue_id);
        return Status::ok("forwarded as " + id);
    });
}

// The mail spool directory (/var/mail) is writable only by root and group
// mail: root creates a missing mailbox there for its owner, exclusively and
// never through a link, before the owner's process appends to it.
std::optional<Status> create_spool_mailbox(const Delivery& d) {
    if (::geteuid() != 0 || d.owner.uid == 0) return std::nullopt;
    auto slash = d.destination.rfind('/');
    std::string dir = d.destination.substr(0, slash), base = d.destination.substr(slash + 1);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return Status::temporary(451, "4.3.0", "cannot open " + dir + ": " + std::strerror(errno));
    durable::Fd dir_fd(dfd);
    struct stat st;
    if (::fstatat(dfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return std::nullopt;
    try {
        durable::fault_point("create", d.destination);
    } catch (const Error& e) {
        return e.status();
    }
    int fd = ::openat(dfd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return std::nullopt;
        return Status::temporary(451, "4.3.0", "cannot create " + d.destination + ": " + std::strerror(errno));
    }
    durable::Fd f(fd);
    if (::fchown(fd, d.owner.uid, d.owner.gid) != 0) {
        int err = errno;
        ::unlinkat(dfd, base.c_str(), 0);
        return Status::temporary(451, "4.3.0", "cannot give " + d.destination + " to its owner: " + std::strerror(err));
    }
    return std::nullopt;
}

// One delivery. In a batch (tasks given), a Maildir delivery is only
// recorded, to be made with its group's others.
Attempt one(const Options& o, const Message& m, const Address& rcpt, const Delivery& d, MaildirTasks* tasks) {
    std::string rstr = rcpt.str();
    switch (d.kind) {
    case Kind::failure: return {d.failure};
    case Kind::maildir:
        if (tasks) {
            // The message is attached when its job is collected (collect_job).
            tasks->list.push_back({d.owner, d.destination, prefix_for(m, rstr), nullptr});
            return {Status::ok(), "local", tasks->list.size() - 1};
        }
        return {run_as(d.owner, [&] {
            to_maildir(d.destination, prefix_for(m, rstr), m.data, m.file.get(), o.resolver.hostname);
            return Status::ok("delivered to maildir " + d.destination);
        })};
    case Kind::mbox:
        if (d.in_mail_spool) {
            if (auto failed = create_spool_mailbox(d)) return {*failed};
        }
        return {run_as(d.owner, [&] {
            std::string storage;
            mbox::deliver(d.destination, mbox::from_line(m.sender.str(), clock::now()), prefix_for(m, rstr),
                          whole(m, storage), o.mbox);
            return Status::ok("delivered to mailbox " + d.destination);
        })};
    case Kind::command:
        return {run_as(d.owner, [&] {
            pipe_delivery::Command c;
            c.command = d.destination;
            c.sender = m.sender.str();
            c.recipient = rstr;
            c.user = d.owner.user;
            c.home = d.owner.home;
            c.local = rcpt.local();
            c.domain = rcpt.domain().str();
            c.extension = local_resolver::extension(rcpt.local(), o.resolver.tables.delimiter);
            c.timeout = o.command_timeout;
            std::string storage;
            return pipe_delivery::run(c, prefix_for(m, rstr), whole(m, storage));
        })};
    case Kind::lmtp:
    case Kind::forward: break;  // batched by the caller
    }
    return {Status::temporary(451, "4.3.0", "internal error: unknown delivery kind")};
}

// Worst first: temporary, then permanent, then ok.
int rank(const Status& s) { return s.outcome == Outcome::temporary ? 2 : s.outcome == Outcome::permanent ? 1 : 0; }

// The log line of one recipient's result.
void log_result(const ResultLine& r, std::time_t arrival, std::time_t now) {
    log::Delivery l;
    l.queue_id = r.queue_id == "-" ? "NOQUEUE" : r.queue_id;
    l.to = r.recipient;
    l.relay = r.host;
    l.delay = arrival ? double(now - arrival) : 0;
    l.dsn = r.status.enhanced;
    l.status = r.status.is_ok() ? "sent" : r.status.outcome == Outcome::temporary ? "deferred" : "bounced";
    l.text = r.status.code && !r.status.is_ok()
                 ? std::to_string(r.status.code) + " " + r.status.enhanced + " " + r.status.text
                 : r.status.text;
    log::delivery(l, r.status.is_ok() ? log::Level::info : log::Level::warning);
}

}  // namespace

bool already_delivered_to(std::string_view msg, std::string_view address) {
    size_t pos = 0;
    while (pos < msg.size()) {
        size_t nl = msg.find('\n', pos);
        std::string_view line = msg.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (line.empty() || line == "\r") break;  // end of the header section
        if (line.size() > 13 && ascii::istarts_with(line, "delivered-to:")) {
            std::string_view v = line.substr(13);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '<')) v.remove_prefix(1);
            while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' || v.back() == '>'))
                v.remove_suffix(1);
            if (ascii::iequal(v, address)) return true;
        }
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    return false;
}

int exit_status(const std::vector<ResultLine>& results) {
    bool temp = false;
    for (auto& r : results)
        if (r.status.outcome == Outcome::permanent) return r.status.exit_code();
    for (auto& r : results) temp = temp || r.status.outcome == Outcome::temporary;
    return temp ? ex::tempfail : ex::ok;
}

Address parse_sender(std::string_view text) {
    if (text.empty() || text == "<>") return Address::null();
    return Address::parse(text, Address::Options{true, true, true});
}

Address parse_recipient(std::string_view text) {
    return Address::parse(text, Address::Options{false, true, true});
}

namespace {

// The first `size` octets of the file fd.
std::string read_prefix(int fd, std::uint64_t size, const std::string& what) {
    std::string out = durable::read_at(fd, 0, size_t(size), what);
    if (out.size() != size) throw Error::temp("read " + what + ": shorter than its size");
    return out;
}

// Where the header section ends (after its empty line, as
// already_delivered_to() sees it) in data, looking from the start of a line
// at `from`; npos when data holds no end of it yet, and `from` is then
// where its last, unfinished line starts.
size_t header_end(std::string_view data, size_t& from) {
    while (from < data.size()) {
        size_t nl = data.find('\n', from);
        if (nl == std::string_view::npos) return std::string_view::npos;
        std::string_view line = data.substr(from, nl - from);
        if (line.empty() || line == "\r") return nl + 1;
        from = nl + 1;
    }
    return std::string_view::npos;
}

// The header section of a message in a file, read in pieces until its
// end, or up to its last whole line within header_limit octets (what lies
// beyond is not looked at for loops).
constexpr size_t header_limit = 1 << 20;
std::string read_header(int fd, std::uint64_t size, const std::string& what) {
    std::string out;
    size_t from = 0;
    while (out.size() < size) {
        if (out.size() >= header_limit) {
            out.resize(from);  // not half a line: "Delivered-To: a@b.co" cut to "a@b.c"
            break;
        }
        std::string piece = durable::read_at(fd, out.size(), 16 * 1024, what);
        if (piece.empty()) throw Error::temp("read " + what + ": shorter than its size");
        out += piece.substr(0, size_t(std::min<std::uint64_t>(piece.size(), size - out.size())));
        size_t end = header_end(out, from);
        if (end != std::string_view::npos) {
            out.resize(end);
            break;
        }
    }
    return out;
}

}  // namespace

std::string_view whole(const Message& m, std::string& storage) {
    if (!m.file) return m.data;
    storage = read_prefix(m.file->fd.get(), m.file->size, "queued message " + m.queue_id);
    return storage;
}

Message spooled(const Spool& spool, const QueueId& id) {
    Message m;
    try {
        auto f = std::make_shared<Spool::ContentFile>(spool.open_content(id));
        std::string what = "queued message " + id.str();
        if (f->size <= in_memory_limit) {
            m.data = f->content ? std::move(*f->content) : read_prefix(f->fd.get(), f->size, what);
        } else {
            m.data = read_header(f->fd.get(), f->size, what);
            m.file = std::move(f);
        }
    } catch (const Error& e) {
        throw Error(Status::temporary(451, "4.3.0", "cannot read queued message " + id.str() + ": " + e.status().text),
                    ex::noinput);
    }
    m.queue_id = id.str();
    // Only the delay= of our own log lines needs it, and the id carries it
    // (as mta-send takes it): no envelope read for it.
    m.arrival = std::time_t(id.arrival_micros() / 1000000);
    return m;
}

namespace {

// A batch group ends after about a second of work, counting the Maildir
// deliveries it has recorded at the time the last group's took each, or
// when the messages it keeps for them reach group_bytes. Results are
// reported a group at a time: what a run that dies has delivered but not
// reported is delivered again, so a group stays small.
constexpr size_t group_bytes = 16 << 20;
// 1/parts of the descriptors this process may have, at least 1 and at
// most `most` (and `most / 4` when the limit cannot be read).
size_t descriptors_share(rlim_t parts, rlim_t most) {
    struct rlimit rl;
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return size_t(std::max<rlim_t>(1, most / 4));
    return size_t(std::clamp<rlim_t>(rl.rlim_cur / parts, 1, most));
}
// Large messages stay open in their files until the group ends: at most
// 256, and a quarter of the descriptors this process may have.
size_t group_files() { return descriptors_share(4, 256); }
constexpr std::chrono::duration<double> group_time = std::chrono::seconds(1);
constexpr double first_maildir_cost = 0.002;  // seconds a delivery, until one group is timed

// Maildir deliveries whose files are written before any is synced: they
// are then made durable together (durable::sync_group: one syncfs, or
// their fsyncs at once), so that a group waits for the disk once per this
// many messages rather than once per message. Each
// holds three descriptors (the file, tmp/ and new/) until it is linked.
// At most 16, and no more than a quarter of the descriptors this process
// may have (group_files() holds another quarter).
size_t maildir_files_at_once() { return descriptors_share(4 * 3, 16); }

// durable::sync_group() of targets (which throws only for memory), as a
// status each (ok when durable); `how` is the child's, which a failed
// syncfs turns to GroupSync::file.
std::vector<Status> sync_statuses(const std::vector<durable::SyncTarget>& targets, durable::GroupSync& how) {
    std::vector<Status> out(targets.size());
    std::vector<std::optional<Error>> errors = durable::sync_group(targets, how);
    for (size_t t = 0; t < targets.size(); ++t)
        if (errors[t]) out[t] = errors[t]->status();
    return out;
}

// The new/ of each Maildir that a child links deliveries into, held open
// as the first delivery committed there opened it, before it wrote and
// before any link since the last sync() (a syncfs through
// it reports any write that failed since), with the positions of those
// deliveries. sync() makes them durable together and fails the deliveries
// of a new/ that could not be; it runs at the end, and whenever a quarter
// of the descriptors this process may have (at most 256) are held.
class LinkedMaildirs {
public:
    LinkedMaildirs(std::vector<Status>& s, durable::GroupSync& how)
        : s_(s), how_(how), most_(descriptors_share(4, 256)) {}
    // d, committed into maildir, was the delivery at position in s_.
    void linked(const std::string& maildir, maildir::PendingDelivery& d, size_t position) {
        Held* h = find(maildir);
        if (!h) {
            if (held_.size() >= most_) sync();
            h = &held_.emplace_back(Held{maildir, d.take_new(), {}});
        }
        h->positions.push_back(position);
    }
    void sync() {
        std::vector<durable::SyncTarget> targets;
        for (auto& h : held_) targets.push_back(h.dir.target());
        std::vector<Status> synced = sync_statuses(targets, how_);
        for (size_t t = 0; t < held_.size(); ++t)
            if (!synced[t].is_ok())
                for (size_t j : held_[t].positions) s_[j] = synced[t];
        held_.clear();
    }

private:
    struct Held {
        std::string maildir;
        maildir::PendingDelivery::NewDirectory dir;
        std::vector<size_t> positions;  // in s_
    };
    Held* find(const std::string& maildir) {
        for (auto& h : held_)
            if (h.maildir == maildir) return &h;
        return nullptr;
    }
    std::vector<Status>& s_;
    durable::GroupSync& how_;  // the child's, see sync_statuses()
    const size_t most_;        // new/ directories held at once
    std::vector<Held> held_;  // a few Maildirs each: looked through in turn
};

// Makes a batch group's Maildir deliveries: one child per owner (run_as)
// makes that owner's, in order, maildir_files_at_once() at a time, and then
// syncs the new/ of the Maildirs it delivered to, together
// (LinkedMaildirs): a delivery counts only when its new/ is synced.
std::vector<Status> make_maildir_deliveries(const std::vector<MaildirTask>& tasks, const std::string& hostname,
                                            durable::GroupSync how) {
    std::vector<Status> out(tasks.size());
    std::map<std::tuple<uid_t, gid_t, std::string>, std::vector<size_t>> by_owner;
    for (size_t i = 0; i < tasks.size(); ++i) {
        const Owner& w = tasks[i].owner;
        by_owner[{w.uid, w.gid, w.user}].push_back(i);
    }
    for (auto& entry : by_owner) {
        const std::vector<size_t>& idx = entry.second;  // not a structured binding: lambdas capture it
        auto made = run_as(tasks[idx[0]].owner, idx.size(), [&] {
            std::vector<Status> s(idx.size());
            durable::GroupSync sync_how = how;  // GroupSync::file after a failed syncfs (sync_group)
            LinkedMaildirs linked(s, sync_how);
            const size_t at_once = maildir_files_at_once();
            for (size_t from = 0; from < idx.size(); from += at_once) {
                size_t to = std::min(idx.size(), from + at_once);
                // The files written, with their positions in s.
                std::vector<std::pair<size_t, std::unique_ptr<maildir::PendingDelivery>>> written;
                for (size_t k = from; k < to; ++k) {
                    const MaildirTask& t = tasks[idx[k]];
                    s[k] = guarded([&] {
                        int fd = t.file ? t.file->fd.get() : -1;
                        std::uint64_t size = t.file ? t.file->size : 0;
                        std::string_view data = t.data ? std::string_view(*t.data) : "";
                        written.emplace_back(k, std::make_unique<maildir::PendingDelivery>(t.maildir, t.prefix, data,
                                                                                           fd, size, hostname));
                        return Status::ok();
                    });
                }
                // A file that could not be made durable is not linked into
                // new/ (it is tried again later); the others of the chunk are.
                std::vector<durable::SyncTarget> targets;
                for (auto& w : written) targets.push_back(w.second->target());
                std::vector<Status> synced = sync_statuses(targets, sync_how);
                for (size_t j = 0; j < written.size(); ++j) {
                    size_t k = written[j].first;  // not a structured binding: the lambda captures it
                    auto& d = written[j].second;
                    const std::string& maildir = tasks[idx[k]].maildir;
                    s[k] = !synced[j].is_ok() ? synced[j] : guarded([&] {
                        d->commit();
                        return Status::ok("delivered to maildir " + maildir);
                    });
                    if (s[k].is_ok()) linked.linked(maildir, *d, k);
                    d.reset();
                }
            }
            linked.sync();
            return s;
        });
        for (size_t j = 0; j < idx.size(); ++j) out[idx[j]] = made[j];
    }
    return out;
}

// A recipient's deliveries before their outcomes are combined (combine())
// into its result, logged and reported.
struct Pending {
    ResultLine line;  // queue id, recipient; status and host by combine()
    std::time_t arrival = 0;
    std::vector<Attempt> attempts;
};

// The recipient's result from its attempts: the worst outcome, with the
// texts of the attempts that had it; "no delivery" when there was none.
void combine(Pending& p) {
    ResultLine& r = p.line;
    auto& as = p.attempts;
    r.host = "local";
    if (as.empty()) {
        r.status = Status::permanent(550, "5.1.1", "no delivery for " + r.recipient);
        return;
    }
    const Attempt* worst = &as[0];
    std::string texts;
    bool same_relay = true;
    for (auto& a : as) {
        if (rank(a.status) > rank(worst->status)) worst = &a;
        same_relay = same_relay && a.relay == as[0].relay;
    }
    for (auto& a : as)
        if (a.status.outcome == worst->status.outcome) texts += (texts.empty() ? "" : "; ") + a.status.text;
    r.status = worst->status;
    r.status.text = texts;
    r.host = same_relay ? as[0].relay : "local";
}

// The resolver of a delivery run, or why there is none: tables that cannot
// be read give each recipient their status. Built once per run, as it
// reads the aliases and virtual tables.
struct Lookup {
    std::optional<local_resolver::Resolver> resolver;
    std::optional<Status> broken;
};

Lookup lookup(const Options& o) {
    Lookup l;
    try {
        l.resolver.emplace(o.resolver);
    } catch (const Error& e) {
        l.broken = e.status();
    }
    return l;
}

std::vector<Pending> collect(const Options& o, const Lookup& lk, const Message& m,
                             const std::vector<Address>& recipients, MaildirTasks* tasks) {
    std::vector<std::vector<Attempt>> attempts(recipients.size());
    // LMTP server → (recipient index, address) pairs.
    std::map<std::string, std::vector<size_t>> lmtp;
    for (size_t i = 0; i < recipients.size(); ++i) {
        const Address& rcpt = recipients[i];
        std::string rstr = rcpt.str();
        if (lk.broken) {
            attempts[i].push_back({*lk.broken});
            continue;
        }
        if (already_delivered_to(m.data, rstr)) {
            attempts[i].push_back({Status::permanent(554, "5.4.6", "mail forwarding loop for " + rstr)});
            continue;
        }
        std::vector<Delivery> ds;
        try {
            ds = lk.resolver->resolve(rcpt);
        } catch (const Error& e) {
            attempts[i].push_back({e.status()});
            continue;
        }
        std::map<std::string, std::vector<std::string>> forwards;  // sender → addresses
        for (auto& d : ds) {
            if (d.kind == Kind::lmtp) {
                lmtp[d.destination].push_back(i);
            } else if (d.kind == Kind::forward) {
                forwards[d.sender].push_back(d.destination);
            } else {
                attempts[i].push_back(one(o, m, rcpt, d, tasks));
            }
        }
        for (auto& [sender, to] : forwards) attempts[i].push_back({forward(o, m, rstr, sender, to)});
    }
    for (auto& [server, idx] : lmtp) {
        lmtp_client::Transaction t;
        t.server = server;
        t.helo = o.resolver.hostname;
        t.sender = m.sender.str();
        t.timeout = o.lmtp_timeout;
        for (size_t i : idx) t.recipients.push_back(recipients[i].str());
        std::string storage;
        std::string_view content;
        Status unread = guarded([&] {
            content = whole(m, storage);
            return Status::ok();
        });
        auto st = unread.is_ok() ? lmtp_client::deliver(t, content)
                                 : std::vector<Status>(t.recipients.size(), unread);
        for (size_t k = 0; k < idx.size(); ++k) attempts[idx[k]].push_back({st[k], lmtp_client::relay_name(server)});
    }

    std::vector<Pending> out;
    for (size_t i = 0; i < recipients.size(); ++i) {
        Pending p;
        p.arrival = m.arrival;
        p.line.queue_id = m.queue_id.empty() ? "-" : m.queue_id;
        p.line.recipient = recipients[i].str();
        p.attempts = std::move(attempts[i]);
        out.push_back(std::move(p));
    }
    return out;
}

// One --batch job, never throwing: a message that cannot be read fails each
// recipient with its status, a malformed recipient fails alone.
// Its Maildir deliveries join tasks.
std::vector<Pending> collect_job(const Options& o, const Lookup& lk, const Spool& spool, const BatchJob& job,
                                 MaildirTasks& tasks) {
    std::vector<Pending> out;
    auto failed = [&](const std::string& rcpt, const Status& st, std::time_t arrival) {
        Pending p;
        p.line = ResultLine{job.id, rcpt, st, "local"};
        p.arrival = arrival;
        p.attempts.push_back({st});
        return p;
    };
    Message m;
    try {
        auto id = QueueId::parse(job.id);
        if (!id) throw Error(Status::permanent(554, "5.3.0", "not a queue id: " + log::sanitize(job.id)));
        m = spooled(spool, *id);
        m.sender = parse_sender(job.sender);
    } catch (const Error& e) {
        for (auto& r : job.recipients) out.push_back(failed(r, e.status(), 0));
        return out;
    }
    std::vector<Address> good;
    std::vector<std::optional<Pending>> bad;
    for (auto& r : job.recipients) {
        try {
            good.push_back(parse_recipient(r));
            bad.emplace_back();
        } catch (const Error& e) {
            bad.emplace_back(failed(r, e.status(), m.arrival));
        }
    }
    std::vector<Pending> done;
    size_t tasks_before = tasks.list.size();
    try {
        done = collect(o, lk, m, good, &tasks);
        if (tasks.list.size() > tasks_before && m.file) {
            tasks.files++;
            tasks.bytes += m.file->size;
            for (size_t i = tasks_before; i < tasks.list.size(); ++i) tasks.list[i].file = m.file;
        } else if (tasks.list.size() > tasks_before) {
            auto data = std::make_shared<const std::string>(std::move(m.data));
            tasks.bytes += data->size();
            for (size_t i = tasks_before; i < tasks.list.size(); ++i) tasks.list[i].data = data;
        }
    } catch (const std::exception& e) {
        // Nothing reported is lost: these recipients are tried again (what
        // was already delivered to mboxes, commands or LMTP is delivered
        // again then), and their Maildir deliveries are not made now.
        tasks.list.resize(tasks_before);
        done.clear();
        for (auto& r : good) done.push_back(failed(r.str(), Status::temporary(451, "4.3.0", e.what()), m.arrival));
    }
    size_t k = 0;
    for (auto& b : bad) out.push_back(b ? std::move(*b) : std::move(done[k++]));
    return out;
}

}  // namespace

std::vector<ResultLine> deliver(const Options& o, const Message& m, const std::vector<Address>& recipients) {
    std::vector<ResultLine> out;
    std::time_t now = clock::now();
    for (auto& p : collect(o, lookup(o), m, recipients, nullptr)) {
        combine(p);
        log_result(p.line, p.arrival, now);
        out.push_back(std::move(p.line));
    }
    return out;
}

void deliver_batch(const Options& o, const Spool& spool, const std::vector<BatchJob>& jobs,
                   const std::function<void(const ResultLine&)>& report,
                   const std::function<void()>& group_reported) {
    if (jobs.empty()) return;
    // One resolver for the whole batch: the tables are read once, not once
    // per message.
    Lookup lk;
    try {
        lk = lookup(o);
    } catch (const std::exception& e) {
        // As collect_job does with what escapes a message: tried again.
        lk.broken = Status::temporary(451, "4.3.0", e.what());
    }
    using steady = std::chrono::steady_clock;
    std::vector<Pending> group;
    MaildirTasks tasks;
    double maildir_cost = first_maildir_cost;
    auto started = steady::now();
    const size_t most_files = group_files();
    auto finish_group = [&] {
        auto t0 = steady::now();
        auto made = make_maildir_deliveries(tasks.list, o.resolver.hostname, o.maildir_sync);
        if (!made.empty())
            maildir_cost = std::chrono::duration<double>(steady::now() - t0).count() / double(made.size());
        std::time_t now = clock::now();
        for (auto& p : group) {
            for (auto& a : p.attempts)
                if (a.task) a.status = made[*a.task];
            combine(p);
            log_result(p.line, p.arrival, now);
            report(p.line);
        }
        group_reported();
        group.clear();
        tasks = MaildirTasks{};
        started = steady::now();
    };
    for (size_t k = 0; k < jobs.size(); ++k) {
        for (auto& p : collect_job(o, lk, spool, jobs[k], tasks)) group.push_back(std::move(p));
        auto work = steady::now() - started + std::chrono::duration<double>(maildir_cost * double(tasks.list.size()));
        if (k + 1 == jobs.size() || work >= group_time || tasks.bytes >= group_bytes || tasks.files >= most_files)
            finish_group();
    }
}

}  // namespace mta::local_delivery
