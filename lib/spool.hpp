// spool: the durable queue of messages (protocol in docs/spool.md).
//
//   env/.<id>.tmp   a message being received: the content, followed by
//                   the envelope as received (lib/receipt_trailer)
//   env/<id>        committed: the message is queued (S3). At first the
//                   received file itself, renamed; each rewrite of the
//                   envelope replaces it by the envelope alone, written
//                   as env/.<id>.<pid>.tmp and renamed
//   msg/<id>        the received file's second name, made (and msg/
//                   fsynced) before the envelope's first rewrite; never
//                   rewritten
//   hold/<id>       env/<id> of a held message (renamed)
//   trigger         FIFO: pulled after each commit (lib/queue_trigger)
//
// The commit point is the rename of the received file to env/<id>, made
// durable by the file's fsync that follows (and an fsync of env/ where
// the file system needs one, durable::names_sync_with_file); a footer
// with a checksum tells a file that a power cut caught between the two
// (receipt_trailer::intact). msg/<id> without an envelope is not a
// message. The envelope's mtime is its next attempt time, so finding due
// messages is a directory scan with a stat per entry. A runner claims a
// message with flock(2) on the content's file (msg/<id>, or the received
// env/<id>), which is never replaced; the writer holds the same lock
// until its commit is durable.
#pragma once

#include "durable.hpp"
#include "envelope.hpp"
#include "queue_id.hpp"
#include "xxh64.hpp"

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

class Spool {
public:
    explicit Spool(std::string root);
    const std::string& root() const { return root_; }

    // Creates root, msg/, env/, hold/ (mode 0700) and the trigger FIFO
    // (lib/queue_trigger) if missing; run as root on a spool that belongs
    // to the mail user, gives what it creates to that user.
    void create() const;
    // Throws Error (config) when the spool directories are missing.
    void check() const;

    // A message being received: content streams into env/.<id>.tmp.
    class Incoming {
    public:
        Incoming(Incoming&&) noexcept;
        Incoming& operator=(Incoming&&) = delete;
        ~Incoming();  // aborts unless committed
        const QueueId& id() const { return id_; }
        void write(std::string_view bytes);
        std::uint64_t size() const { return size_; }
        // Makes the message durable and visible (S0 → S3). Fills in the
        // envelope's id, size and (if zero) arrival and next attempt time.
        // Only after this returns may the sender be told 250.
        void commit(Envelope env);
        // Removes everything written so far.
        void abort();

    private:
        friend class Spool;
        Incoming(const Spool& s, QueueId id, durable::Fd fd, std::string writing);
        void flush();
        const Spool* spool_;
        QueueId id_;
        durable::Fd fd_;
        std::string writing_;  // env/.<id>.tmp, the file's name until the commit
        std::string buffer_;
        Xxh64 sum_;  // of the content so far (lib/receipt_trailer)
        std::uint64_t size_ = 0;
        bool renamed_ = false;  // env/<ID> was made by this writer
        bool done_ = false;
    };
    Incoming receive() const;

    // A runner's exclusive claim on one message (flock on msg/<id>);
    // released when destroyed or when the process dies.
    class Claim {
    public:
        const QueueId& id() const { return id_; }
        // False when a power cut left the received file half written
        // (receipt_trailer::intact): its commit never completed, and the
        // message must not be delivered.
        bool intact() const;
        // The content file, open for reading (shares the lock's descriptor).
        int fd() const { return fd_.get(); }
        std::string read_all() const;  // the content, without the trailer
        // When the message was removed (the file has no name left), frees
        // the file's blocks now, through a second descriptor for writing:
        // the close of its last descriptor, wherever that happens, then
        // has nothing left to free (which waits for the disk's discard on
        // some file systems). Does nothing to a file that has a name.
        void free_if_removed() const;

    private:
        friend class Spool;
        Claim(QueueId id, durable::Fd fd) : id_(std::move(id)), fd_(std::move(fd)) {}
        QueueId id_;
        durable::Fd fd_;
    };
    // nullopt when another process holds the claim or the message is gone.
    std::optional<Claim> claim(const QueueId& id) const;

    // The envelope (from env/ or hold/); nullopt when the message is gone.
    std::optional<Envelope> load(const QueueId& id) const;
    // load(), with a damaged file told apart from a failure to read it:
    // `damage` says why the file holds no readable envelope (none in it, or
    // a broken one: Error::data), and `envelope` is then empty; both are
    // empty when the message is gone. A failure to read (descriptors, I/O),
    // which a later try may not meet, is thrown.
    struct Loaded {
        std::optional<Envelope> envelope;
        std::optional<std::string> damage;
    };
    Loaded load_or_damage(const QueueId& id) const;
    // The content (msg/<id> without its trailer), read without a claim, for a stage the runner
    // gave the id. Error (4.3.0) when it cannot be read.
    std::string content(const QueueId& id) const;
    // The same, as an open file for a reader that takes it in pieces
    // (pread): msg/<id>, and the length of its content, the trailer left
    // out; a small file's content comes with it (receipt_trailer::read_head).
    struct ContentFile {
        durable::Fd fd;
        std::uint64_t size = 0;
        std::optional<std::string> content;
    };
    ContentFile open_content(const QueueId& id) const;
    // Replaces the envelope atomically; its mtime becomes next_attempt.
    // Only under a claim (which makes sure msg/<id> names the content).
    void update(const Envelope& e) const;
    // update() for several envelopes with one wait for the disk: the new
    // envelopes are written and fsynced together, each renamed over its
    // old one, then env/ and hold/ fsynced once. Each envelope is the old
    // or the new one after a crash. Returns, for each, "" when it was
    // recorded, else the error.
    std::vector<std::string> update_all(const std::vector<const Envelope*>& envelopes) const;
    // Removes a message: env/<id> (or hold/<id>) first, then msg/<id>.
    void remove(const QueueId& id) const;
    bool is_held(const QueueId& id) const;
    // A queued message whose content is gone: its envelope (env/ or hold/)
    // is a file of its own and msg/<id> does not exist (removed by hand:
    // removals take the envelope first). No claim can take it; only
    // remove() applies.
    bool content_gone(const QueueId& id) const;
    void hold(const QueueId& id) const;
    void release(const QueueId& id) const;

    // Every queued message (env/ and hold/), sorted by id.
    std::vector<QueueId> list() const;
    // Messages in env/ whose next attempt time (mtime) is <= now, by id.
    std::vector<QueueId> due(std::time_t now) const;

    // Garbage collection after crashes: removes temporary files and
    // uncommitted content older than max_age (default 36 h, longer than
    // the 24 h any writer may live).
    struct Recovery {
        int temporary_removed = 0;
        int orphans_removed = 0;
    };
    Recovery recover(std::time_t now, std::time_t max_age = 36 * 3600) const;

    std::string path(std::string_view dir, const QueueId& id) const;
    static constexpr std::time_t writer_lifetime = 24 * 3600;

private:
    // The content's file for reading: msg/<id>, or, while the envelope is
    // still the received file, env/<id> (or hold/<id>): msg/ is fsynced only
    // before an envelope's first rewrite, so a crash may take msg/<id> away
    // from a message received since, and earlier versions named a received
    // message env/<id> alone (docs/spool.md).
    // An empty Fd when the message is gone.
    // The file and the name it was opened by (for messages).
    struct NamedFd {
        durable::Fd fd;
        std::string path;
    };
    NamedFd open_content_file(const QueueId& id) const;
    // open_content_file(); Error (4.3.0) when it is gone.
    NamedFd open_msg(const QueueId& id) const;
    // Links dir/<id>, the received file and the content's one name, as
    // msg/<id>. Error (4.3.0) when it holds no content or the link fails.
    void name_content(const QueueId& id, const char* dir) const;
    // Whether rewriting dir/<id> is its first rewrite (it is still the
    // received file): the caller then fsyncs msg/ before the rename. The
    // received file is given its msg/ name first (name_content). Error
    // (4.3.0) when it is not queued or the content is gone.
    bool first_rewrite(const QueueId& id, const char* dir) const;

    std::string root_;
    // Set when a root process uses a spool that belongs to another user
    // (mta-queue run by root's cron): the files it creates are given to
    // that user, whose programs (mta-send, mta-recv) must read them.
    std::optional<durable::Owner> owner_;
};

}  // namespace mta
