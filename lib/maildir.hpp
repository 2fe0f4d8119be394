// maildir: careful delivery into a Maildir, as qmail specifies and Dovecot reads.
//
// The message (a prefix of Return-Path:/Delivered-To: lines, then the
// message with LF line endings, nothing rewritten) is written to
//   tmp/<sec>.M<usec>P<pid>Q<n>.<host>          O_CREAT|O_EXCL|O_NOFOLLOW, 0600
// fsynced and closed (both checked), linked to
//   new/<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>,W=<vsize>
// (size exact in bytes, vsize the size with CRLF line endings), unlinked
// from tmp/, and new/ is fsynced: only then is the message delivered
// (a batch may write and sync several files at once, and sync new/ once for
// all of them).
// Every step goes through durable:: fault points.
//
// Safety: the Maildir, tmp/ and new/ are opened with O_NOFOLLOW|O_DIRECTORY
// and used through openat()/linkat(), so a symbolic link anywhere in them is
// refused; each must belong to the effective uid. A missing Maildir (and its
// tmp/, new/, cur/) is created with mode 0700, each fsynced with its parent.
#pragma once

#include "durable.hpp"

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace mta::maildir {

// "/" → "\057", ":" → "\072" (and "\" itself, "," would confuse ",S=").
std::string escape_host(std::string_view host);

// "<sec>.M<usec>P<pid>Q<n>.<host>" with the host escaped.
std::string unique_name(std::time_t sec, long usec, pid_t pid, unsigned long n, std::string_view host);

// The sizes of a message given in pieces: octets, and octets with every
// bare LF counted as CRLF (Dovecot's W= value). A piece that starts with
// LF after one that ended with CR makes a CRLF, as in the joined octets.
class VirtualSize {
public:
    void add(std::string_view piece);
    std::uint64_t size() const { return size_; }
    std::uint64_t value() const { return size_ + bare_lf_; }
    std::string suffix() const;  // ",S=<size>,W=<value>"

private:
    std::uint64_t size_ = 0, bare_lf_ = 0;
    char last_ = 0;
};

// Size of data with every bare LF counted as CRLF (Dovecot's W= value).
std::uint64_t virtual_size(std::string_view data);

// ",S=<size>,W=<vsize>"
std::string size_suffix(std::string_view data);

// Delivers prefix+message to the Maildir dir; returns the file's path in
// new/. Throws Error: temporary for every failure (disk full, a symbolic
// link or a foreign owner in the way). new/ is synced before it returns.
std::string deliver(const std::string& dir, std::string_view prefix, std::string_view message,
                    const std::string& hostname);

// The same, the message being the first message_size octets of the open
// file message_fd, copied in pieces (durable::copy_file): a large message
// is never held in memory.
std::string deliver(const std::string& dir, std::string_view prefix, int message_fd, std::uint64_t message_size,
                    const std::string& hostname);

// deliver() in halves, for a caller that syncs several deliveries at once
// (durable::sync_group): the constructor writes prefix and message (or
// the first message_size octets of message_fd, when it is not -1) to a new
// file in tmp/ and keeps it open; once target() is durable, commit() checks
// its size, closes it, links it into new/ (without syncing new/) and
// removes its tmp/ name. Destroyed uncommitted, it removes the tmp/ file.
// Each delivery holds three descriptors until it is destroyed.
class PendingDelivery {
public:
    PendingDelivery(const std::string& dir, std::string_view prefix, std::string_view message, int message_fd,
                    std::uint64_t message_size, const std::string& hostname);
    ~PendingDelivery();
    PendingDelivery(const PendingDelivery&) = delete;
    PendingDelivery& operator=(const PendingDelivery&) = delete;
    durable::SyncTarget target() const { return {fd_.get(), tmp_path_}; }
    std::string commit();   // the file's path in new/
    void sync_new() const;  // fsync of new/
    // After commit(): new/, as this delivery opened it before writing,
    // taken to be synced by whoever keeps it (sync_new() then fails).
    struct NewDirectory {
        durable::Fd fd;
        std::string path;
        durable::SyncTarget target() const { return {fd.get(), path}; }
    };
    NewDirectory take_new();

private:
    std::string dir_, name_, tmp_path_;
    durable::Fd tmp_, new_, fd_;
    VirtualSize size_;
    bool committed_ = false;
};

}  // namespace mta::maildir
