// local_delivery: one message to local recipients (what mta-deliver does).
//
// For each recipient: refuse a message that already carries
// "Delivered-To: <recipient>" (a mail loop, 554 5.4.6); resolve it
// (local_resolver.hpp); run each delivery with the owner's rights (when
// running as root, in a child process that has switched to the owner's
// uid/gid before it opens anything); and combine the outcomes into one
// Status per recipient: temporary when any delivery is temporary, else
// permanent when any is permanent, else ok.
//
// Maildir, mbox and command deliveries get "Return-Path: <sender>" and
// "Delivered-To: <recipient>" prepended. LMTP deliveries to one server go in
// one transaction (the server adds its own trace headers). Forwards to
// remote addresses are queued as one new message per recipient through
// Spool::receive(), with "Delivered-To:" prepended and the original sender
// (or the owner- alias) as the envelope sender.
#pragma once

#include "batch_job.hpp"
#include "filesystem_sync.hpp"
#include "local_resolver.hpp"
#include "mbox.hpp"
#include "queue_id.hpp"
#include "result_line.hpp"
#include "spool.hpp"

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mta::local_delivery {

struct Options {
    local_resolver::Config resolver;
    std::string spool;          // for forwards
    mbox::Options mbox;
    int command_timeout = 600;  // seconds
    int lmtp_timeout = 300;     // seconds
    // How a batch group's Maildir files and new/ are made durable.
    durable::GroupSync maildir_sync = durable::GroupSync::filesystem;
};

struct Message {
    std::string data;     // LF line endings; with `file`, the header section only
    // A large queued message stays in its spool file: Maildir deliveries
    // copy it from there in pieces, the others read it whole (whole()).
    std::shared_ptr<const Spool::ContentFile> file;
    Address sender;       // may be null
    std::string queue_id; // "-" when not from the spool
    std::time_t arrival = 0;
};

// The whole content, for a delivery that takes it at once: data, or the
// file read into `storage`.
std::string_view whole(const Message& m, std::string& storage);

// One result per recipient, in order; also logs one line per recipient.
std::vector<ResultLine> deliver(const Options& o, const Message& m, const std::vector<Address>& recipients);

// The envelope sender ("" or "<>": the null sender) and a recipient as
// mta-deliver takes them; Error (5.1.7, 5.1.3) when malformed.
Address parse_sender(std::string_view text);
Address parse_recipient(std::string_view text);

// A queued message (<spool>/msg/ID) with its arrival time, taken from the
// id (reading the envelope for it would cost a file per message); the
// sender is left null. A message of more than in_memory_limit octets is
// left in its file, open, with only its header section read (Message::file).
// Error 451 4.3.0 (EX_NOINPUT) when it cannot be opened.
constexpr std::uint64_t in_memory_limit = 64 * 1024;
Message spooled(const Spool& spool, const QueueId& id);

// mta-deliver --batch: each job's message from the spool to its
// recipients; report() gets one result per recipient, in order. A message
// that cannot be read fails each of its recipients with its status, a
// malformed recipient fails alone. The aliases and virtual tables are read
// once for the whole batch. Maildir deliveries are grouped (a group: about
// a second of work, the Maildir deliveries counted at what the last
// group's took, or 16 MiB of messages in memory, or 256 left in their
// files): the group's deliveries to one
// owner are made by one child process, which then syncs the new/ of each
// Maildir once, before their results are logged and reported.
// group_reported() is called after each group's last report (to flush
// them together: what is reported counts once it is out).
void deliver_batch(const Options& o, const Spool& spool, const std::vector<BatchJob>& jobs,
                   const std::function<void(const ResultLine&)>& report,
                   const std::function<void()>& group_reported);

// True when the header section has a Delivered-To: field equal to address
// (without regard to case).
bool already_delivered_to(std::string_view message, std::string_view address);

// The exit status for a set of results (docs/contracts.md section 2).
int exit_status(const std::vector<ResultLine>& results);

}  // namespace mta::local_delivery
