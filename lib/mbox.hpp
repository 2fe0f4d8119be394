// mbox: appending a message to a Unix mailbox file.
//
// The message goes in as
//   From <sender or MAILER-DAEMON> <asctime date>
//   <prefix: Return-Path:, Delivered-To:>
//   <message, every line matching ^>*From  given one more '>'>
//   <an empty line>
// under two locks taken in this order: a dot-lock (<file>.lock, created
// with O_EXCL, holding the writer's pid; skipped when the directory is not
// writable; a lock older than stale_after seconds, or whose pid is not a
// running process, is removed) and an fcntl(2) write lock on the file.
// The write is fsynced; on any error the file is truncated back to its old
// size. A lock still held by another process after lock_timeout seconds is
// a temporary failure.
//
// Safety: the file is opened through openat() from its directory with
// O_NOFOLLOW|O_NONBLOCK; it must be a regular file with one link, owned by
// the effective uid. A missing file is created with O_EXCL, mode 0600.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace mta::mbox {

// "From alice@example.org Sun Nov 22 13:40:00 2026\n" (sender "" → MAILER-DAEMON).
std::string from_line(std::string_view sender, std::time_t t);

// The message with >From quoting (mboxrd: reversible), ending in "\n\n".
std::string quote(std::string_view message);

struct Options {
    int lock_timeout = 30;   // seconds
    int stale_after = 600;   // seconds; an older dot-lock is broken
};

// Appends from_line + prefix + quote(message) to path. Throws Error:
// temporary for locks, I/O errors and unsafe files.
void deliver(const std::string& path, std::string_view from, std::string_view prefix,
             std::string_view message, const Options& o);

}  // namespace mta::mbox
