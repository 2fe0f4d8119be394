#include "spool.hpp"

#include "clock.hpp"
#include "queue_trigger.hpp"
#include "receipt_trailer.hpp"
#include "status.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <memory>
#include <string_view>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <utility>
#include <sys/stat.h>
#include <unistd.h>

namespace mta {

namespace {

constexpr size_t buffer_limit = 64 * 1024;
const char* const dirs[] = {"msg", "env", "hold"};

bool exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
}

// How many names the file p has; nullopt when there is no such file.
std::optional<nlink_t> links(const std::string& p) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) return std::nullopt;
    return st.st_nlink;
}

// Marks the directory p as the top of a hierarchy (chattr +T): ext4's
// allocator then spreads the directories made in it over block groups
// apart from one another and from p's neighbours. The spool's files come
// and go with each message while mailboxes and the rest of the file
// system keep theirs; in different groups, new files elsewhere (a
// Maildir's) do not step over the spool's freed inodes, which ext4
// without a journal skips one by one for a minute after each removal. A
// hint only: file systems without it refuse it, and that is no error,
// nor is a directory this process may not open or change.
void mark_top_directory(const std::string& p) {
    durable::Fd fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    int flags = 0;
    if (!fd || ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0 || (flags & FS_TOPDIR_FL)) return;
    flags |= FS_TOPDIR_FL;
    [[maybe_unused]] int refused = ::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags);
}

// The file p for reading; an empty Fd when there is no such file.
durable::Fd open_existing(const std::string& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) throw Error::system("open " + p, errno);
    return durable::Fd(fd);
}

// Names in a spool directory, dot files (temporaries) excluded.
template <typename F>
void scan(const std::string& dir, F&& f) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) throw Error::system("open directory " + dir, errno);
    while (struct dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        f(std::string_view(e->d_name), ::dirfd(d));
    }
    ::closedir(d);
}

}  // namespace

Spool::Spool(std::string root) : root_(std::move(root)) {
    struct stat st;
    if (::geteuid() == 0 && ::stat(root_.c_str(), &st) == 0 && st.st_uid != 0) owner_ = durable::Owner{st.st_uid, st.st_gid};
}

std::string Spool::path(std::string_view dir, const QueueId& id) const {
    return root_ + "/" + std::string(dir) + "/" + id.str();
}

void Spool::create() const {
    auto give = [&](const std::string& p) {
        if (owner_ && ::lchown(p.c_str(), owner_->uid, owner_->gid) != 0) throw Error::system("chown " + p, errno);
    };
    // Each directory made is made durable with its name, as a commit
    // would need them after a power cut.
    auto mk = [&](const std::string& p) {
        if (::mkdir(p.c_str(), 0700) == 0) {
            give(p);
            durable::sync_made_directory(durable::open_directory(p).get(), p);
        } else if (errno != EEXIST) {
            throw Error::system("mkdir " + p, errno);
        }
    };
    mk(root_);
    // Before the directories in it are made, and only then: the mark
    // places directories when they are made, and sendmail calls this for
    // every message.
    if (std::any_of(std::begin(dirs), std::end(dirs), [&](const char* d) { return !exists(root_ + "/" + d); }))
        mark_top_directory(root_);
    for (auto d : dirs) mk(root_ + "/" + d);
    if (queue_trigger::create(root_)) give(queue_trigger::path(root_));
}

void Spool::check() const {
    for (auto d : dirs) {
        struct stat st;
        std::string p = root_ + "/" + d;
        if (::stat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            throw Error::config("spool directory " + p + " is missing (create the spool first)");
    }
}

// ---- receiving (S0 → S3) ----

Spool::Incoming::Incoming(const Spool& s, QueueId id, durable::Fd fd, std::string writing)
    : spool_(&s), id_(std::move(id)), fd_(std::move(fd)), writing_(std::move(writing)) {}

Spool::Incoming::Incoming(Incoming&& o) noexcept
    : spool_(o.spool_), id_(o.id_), fd_(std::move(o.fd_)), writing_(std::move(o.writing_)),
      buffer_(std::move(o.buffer_)), sum_(o.sum_), size_(o.size_), renamed_(o.renamed_), done_(o.done_) {
    o.done_ = true;
}

Spool::Incoming::~Incoming() {
    if (!done_) {
        try {
            abort();
        } catch (...) {
        }
    }
}

Spool::Incoming Spool::receive() const {
    // S1: env/.<ID>.tmp (O_EXCL), renamed to env/<ID> at the commit. Not a
    // file without a name (O_TMPFILE) linked at the commit: on ext4 without
    // a journal the link's new link count reaches the disk only with the
    // file's next write-back, and a power cut before it leaves env/<ID>
    // naming an inode the disk holds as deleted, which e2fsck then clears
    // (docs/spool.md).
    durable::Fd fd;
    QueueId id = QueueId::generate();
    std::string writing;
    for (int tries = 0; !fd; ++tries) {
        if (tries == 8) throw Error::temp("cannot create a unique queue file in " + root_ + "/env");
        if (tries > 0) id = QueueId::generate();
        writing = root_ + "/env/." + id.str() + ".tmp";
        fd = durable::create_exclusive(writing);
    }
    Incoming in(*this, std::move(id), std::move(fd), std::move(writing));  // removes the file if the next step throws
    // Locked until the commit is done: a runner does not claim env/<ID>
    // before its fsync has returned.
    if (::flock(in.fd_.get(), LOCK_EX | LOCK_NB) != 0) throw Error::system("flock " + in.writing_, errno);
    if (owner_) durable::set_owner(in.fd_.get(), *owner_, in.writing_);
    return in;
}

void Spool::Incoming::flush() {
    if (buffer_.empty()) return;
    durable::write_all(fd_.get(), buffer_, writing_);
    buffer_.clear();
}

void Spool::Incoming::write(std::string_view bytes) {
    if (done_) throw Error::temp("write to a finished queue file");
    size_ += bytes.size();
    sum_.update(bytes);
    if (buffer_.size() + bytes.size() > buffer_limit) {
        flush();
        if (bytes.size() > buffer_limit) {
            durable::write_all(fd_.get(), bytes, writing_);
            return;
        }
    }
    buffer_.append(bytes);
}

void Spool::Incoming::commit(Envelope env) {
    if (done_) throw Error::temp("commit of a finished queue file");
    const Spool& s = *spool_;
    std::string queued = s.path("env", id_);
    try {
        // S2: the envelope as received and the footer after the content
        // (lib/receipt_trailer, with the checksum that tells this file
        // from one a power cut left half written), the mtime set to the
        // next attempt.
        env.id = id_;
        env.size = size_;
        if (env.arrival == 0) env.arrival = clock::now();
        if (env.next_attempt == 0) env.next_attempt = env.arrival;
        buffer_ += receipt_trailer::make(env, sum_);  // a small message: content and trailer in one write
        flush();
        durable::set_mtime(fd_.get(), env.next_attempt, writing_);
        // S3: renamed env/<ID> (the commit), then the file fsynced, which
        // on ext4 and XFS also makes the new name durable; elsewhere env/
        // is fsynced as well.
        durable::rename_new(writing_, queued);
        renamed_ = true;
        durable::sync(fd_.get(), queued);
        if (!durable::names_sync_with_file(fd_.get())) durable::sync_directory(s.root_ + "/env");
        fd_ = durable::Fd();  // unlocks: the message is the runners' now (written and synced: a close error is moot)
    } catch (...) {
        // Not durable, so not acknowledged: take it back rather than
        // deliver a message whose sender was told to try again (no runner
        // has claimed it: the file is still locked).
        abort();
        throw;
    }
    done_ = true;
    queue_trigger::pull(s.root_);
}

void Spool::Incoming::abort() {
    done_ = true;
    // Only the name this writer made: an env/<ID> it did not rename (the
    // rename failed, EEXIST) is another message's.
    ::unlink(renamed_ ? spool_->path("env", id_).c_str() : writing_.c_str());
    fd_ = durable::Fd();
}

// ---- claiming and reading ----

Spool::NamedFd Spool::open_content_file(const QueueId& id) const {
    std::string msg = path("msg", id);
    if (durable::Fd fd = open_existing(msg)) return {std::move(fd), msg};
    for (auto dir : {"env", "hold"}) {
        std::string p = path(dir, id);
        durable::Fd fd = open_existing(p);
        if (!fd) continue;
        // An envelope alone: the content went with its name, removed by
        // hand (removals take the envelope first): content_gone().
        if (!receipt_trailer::holds_content(fd.get(), id, p)) return {};
        return {std::move(fd), p};
    }
    return {};
}

void Spool::name_content(const QueueId& id, const char* dir) const {
    std::string p = path(dir, id), msg = path("msg", id);
    durable::Fd fd = open_existing(p);
    if (!fd || !receipt_trailer::holds_content(fd.get(), id, p))
        throw Error::temp("message " + id.str() + " has no content: " + msg + " is gone");
    // Another process may have named it first (EEXIST): the same file is
    // as good.
    std::optional<Error> failed;
    try {
        durable::link(p, msg);
    } catch (const Error& e) {
        failed = e;
    }
    durable::Fd named = open_existing(msg);
    struct stat a, b;
    if (!named || ::fstat(named.get(), &a) != 0 || ::fstat(fd.get(), &b) != 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev)
        throw failed ? *failed : Error::temp("message " + id.str() + ": " + msg + " is another file");
}

std::optional<Spool::Claim> Spool::claim(const QueueId& id) const {
    durable::Fd owned = open_content_file(id).fd;
    if (!owned) return std::nullopt;
    int fd = owned.get();
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) continue;
        if (errno == EWOULDBLOCK) return std::nullopt;
        throw Error::system("flock " + path("msg", id), errno);
    }
    // The message may have been finished by the runner we waited behind.
    if (!exists(path("env", id)) && !exists(path("hold", id))) return std::nullopt;
    return Claim(id, std::move(owned));
}

void Spool::Claim::free_if_removed() const {
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0 || st.st_nlink != 0) return;
    durable::Fd w(::open(durable::fd_path(fd_.get()).c_str(), O_WRONLY | O_CLOEXEC));
    if (!w) return;  // no /proc: the last close frees it
    [[maybe_unused]] int r = ::ftruncate(w.get(), 0);
}

bool Spool::Claim::intact() const { return receipt_trailer::intact(fd_.get(), id_.str()); }

std::string Spool::Claim::read_all() const { return receipt_trailer::read_content(fd_.get(), id_, id_.str()); }

std::optional<Envelope> Spool::load(const QueueId& id) const {
    for (auto dir : {"env", "hold"}) {
        int fd = ::open(path(dir, id).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            throw Error::system("open " + path(dir, id), errno);
        }
        durable::Fd owned(fd);
        Envelope e = receipt_trailer::read_envelope(fd, id, path(dir, id));
        if (!e.id) e.id = id;
        return e;
    }
    return std::nullopt;
}

Spool::NamedFd Spool::open_msg(const QueueId& id) const {
    NamedFd f = open_content_file(id);
    if (!f.fd) throw Error::system("open " + path("msg", id), ENOENT);
    return f;
}

std::string Spool::content(const QueueId& id) const {
    NamedFd f = open_msg(id);
    return receipt_trailer::read_content(f.fd.get(), id, f.path);
}

Spool::ContentFile Spool::open_content(const QueueId& id) const {
    NamedFd named = open_msg(id);
    ContentFile f{std::move(named.fd), 0, std::nullopt};
    auto head = receipt_trailer::read_head(f.fd.get(), id, named.path);
    f.size = head.size;
    f.content = std::move(head.content);
    return f;
}

bool Spool::is_held(const QueueId& id) const { return exists(path("hold", id)); }

bool Spool::content_gone(const QueueId& id) const {
    // Queued, and nothing open_content_file() would read.
    if (exists(path("msg", id)) || !(exists(path("env", id)) || is_held(id))) return false;
    return !open_content_file(id).fd;
}

bool Spool::first_rewrite(const QueueId& id, const char* dir) const {
    auto names = links(path(dir, id));
    if (!names) throw Error::temp("message " + id.str() + " is not queued");
    if (*names > 1) return true;
    if (exists(path("msg", id))) return false;  // an envelope of its own
    // The received file under its one name (docs/spool.md): named msg/<id>
    // before the envelope gets a file of its own.
    name_content(id, dir);
    return true;
}

void Spool::update(const Envelope& e) const {
    if (!e.id) throw Error::temp("envelope without id");
    const char* dir = is_held(*e.id) ? "hold" : "env";
    if (first_rewrite(*e.id, dir)) durable::sync_directory(root_ + "/msg");  // msg/<id> made durable first
    durable::replace_file(root_ + "/" + dir, e.id->str(), serialize(e), e.next_attempt, owner_);
}

std::vector<std::string> Spool::update_all(const std::vector<const Envelope*>& envelopes) const {
    std::vector<std::string> errors(envelopes.size());
    std::vector<std::unique_ptr<durable::PreparedFile>> files(envelopes.size());
    std::vector<bool> in_hold(envelopes.size(), false);
    // The first rewrite of an envelope that is still the received file:
    // msg/ is fsynced with the new files of its batch.
    std::vector<bool> first(envelopes.size(), false);
    for (size_t k = 0; k < envelopes.size(); ++k) {
        const Envelope& e = *envelopes[k];
        try {
            if (!e.id) throw Error::temp("envelope without id");
            in_hold[k] = is_held(*e.id);
            const char* dir = in_hold[k] ? "hold" : "env";
            first[k] = first_rewrite(*e.id, dir);
            files[k] = std::make_unique<durable::PreparedFile>(root_ + "/" + dir, e.id->str(), serialize(e),
                                                               e.next_attempt, owner_);
        } catch (const Error& err) {
            errors[k] = err.what();
        }
    }
    // A bounded number of threads at a time.
    constexpr size_t batch = 32;
    for (size_t from = 0; from < files.size(); from += batch) {
        std::vector<durable::SyncTarget> targets;
        std::vector<size_t> which;
        for (size_t k = from; k < std::min(files.size(), from + batch); ++k)
            if (files[k] && first[k]) {
                targets.push_back({-1, root_ + "/msg"});
                break;
            }
        for (size_t k = from; k < std::min(files.size(), from + batch); ++k)
            if (files[k]) {
                targets.push_back(files[k]->target());
                which.push_back(k);
            }
        try {
            durable::sync_together(targets);
        } catch (const Error& err) {
            for (size_t k : which) {
                errors[k] = err.what();
                files[k].reset();  // the temporary file goes
            }
        }
    }
    bool env_renamed = false, hold_renamed = false;
    for (size_t k = 0; k < files.size(); ++k) {
        if (!files[k]) continue;
        try {
            files[k]->install(false);
            (in_hold[k] ? hold_renamed : env_renamed) = true;
        } catch (const Error& err) {
            errors[k] = err.what();
            files[k].reset();
        }
    }
    for (auto [dir, renamed] : {std::pair{"env", env_renamed}, std::pair{"hold", hold_renamed}}) {
        if (!renamed) continue;
        try {
            durable::sync_directory(root_ + "/" + dir);
        } catch (const Error& err) {
            for (size_t k = 0; k < files.size(); ++k)
                if (files[k] && in_hold[k] == (std::string_view(dir) == "hold")) errors[k] = err.what();
        }
    }
    return errors;
}

void Spool::remove(const QueueId& id) const {
    bool held = is_held(id);
    durable::unlink(path("env", id));
    durable::unlink(path("hold", id));
    durable::sync_directory(root_ + "/env");
    if (held) durable::sync_directory(root_ + "/hold");
    durable::unlink(path("msg", id));
}

void Spool::hold(const QueueId& id) const {
    if (is_held(id)) return;
    durable::rename(path("env", id), path("hold", id));
    durable::sync_directory(root_ + "/hold");
    durable::sync_directory(root_ + "/env");
}

void Spool::release(const QueueId& id) const {
    if (!is_held(id)) return;
    durable::rename(path("hold", id), path("env", id));
    durable::sync_directory(root_ + "/env");
    durable::sync_directory(root_ + "/hold");
}

Spool::Loaded Spool::load_or_damage(const QueueId& id) const {
    try {
        return {load(id), std::nullopt};
    } catch (const Error& e) {
        if (e.exit_code() != ex::dataerr) throw;
        return {std::nullopt, std::string(e.what())};
    }
}

// ---- finding messages ----

std::vector<QueueId> Spool::list() const {
    std::vector<QueueId> ids;
    for (auto dir : {"env", "hold"})
        scan(root_ + "/" + dir, [&](std::string_view name, int) {
            if (auto id = QueueId::parse(name)) ids.push_back(*id);
        });
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::vector<QueueId> Spool::due(std::time_t now) const {
    std::vector<QueueId> ids;
    scan(root_ + "/env", [&](std::string_view name, int dfd) {
        auto id = QueueId::parse(name);
        if (!id) return;
        struct stat st;
        if (::fstatat(dfd, id->str().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime <= now)
            ids.push_back(*id);
    });
    std::sort(ids.begin(), ids.end());
    return ids;
}

// ---- recovery ----

Spool::Recovery Spool::recover(std::time_t now, std::time_t max_age) const {
    Recovery r;
    auto old = [&](int dfd, const std::string& name) {
        struct stat st;
        return ::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime + max_age < now;
    };
    // The file under our own lock; empty when another process holds it (a
    // writer at work: a receipt holds its lock until its commit is
    // durable, a runner while it works on a message) or it is gone.
    auto lock = [](int dfd, const std::string& name) {
        durable::Fd fd(::openat(dfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) fd = durable::Fd();
        return fd;
    };
    // env/ and hold/ dot files: dead writers' receipts, interrupted
    // envelope rewrites.
    for (auto dir : {"env", "hold"}) {
        DIR* d = ::opendir((root_ + "/" + dir).c_str());
        if (!d) throw Error::system("open directory " + root_ + "/" + dir, errno);
        while (struct dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name.size() > 2 && name[0] == '.' && name.ends_with(".tmp") && old(::dirfd(d), name)) {
                durable::Fd locked = lock(::dirfd(d), name);
                if (!locked) continue;
                durable::unlink(root_ + "/" + dir + "/" + name);
                ++r.temporary_removed;
            }
        }
        ::closedir(d);
    }
    // msg/ without an envelope: a removal interrupted between its two
    // steps, or a dead writer's content from a version that received into
    // msg/. Hold and release lock the file too; under our own lock the
    // envelope is looked for again.
    auto unqueued = [&](const QueueId& id) { return !exists(path("env", id)) && !exists(path("hold", id)); };
    scan(root_ + "/msg", [&](std::string_view name, int dfd) {
        auto id = QueueId::parse(name);
        if (!id || !old(dfd, id->str()) || !unqueued(*id)) return;  // one stat for most
        durable::Fd locked = lock(dfd, id->str());
        if (!locked || !unqueued(*id)) return;
        durable::unlink(path("msg", *id));
        ++r.orphans_removed;
    });
    return r;
}

}  // namespace mta
