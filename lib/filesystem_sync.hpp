// filesystem_sync: one syncfs(2) in place of the fsyncs of a group of new
// files on one file system.
//
// Each fsync of a new file writes the file, its inode, the directory that
// holds its name, and ends with a flush of the disk's cache; a group of 16
// Maildir deliveries took 16 of them (at once, durable::sync_each) and
// then one of new/. A syncfs writes everything the file system holds
// unwritten and flushes once. One fsync of the first target follows it,
// for ext4 without a journal, which writes its inode tables after its
// syncfs has flushed: that fsync flushes again (the others flush at the
// end of their syncfs, in a journal commit, a log force, a transaction).
//
// It is taken only where that is as safe as the fsyncs and cheap:
//   - Linux 5.17 or later: syncfs reports a failed write-back of any file
//     since its descriptor was opened from 5.8, and the file system's own
//     failures (a journal commit) from 5.17;
//   - ext2/3/4, XFS or btrfs (statfs), whose syncfs writes and waits for
//     everything, unlike FUSE or NFS, where only fsync reaches the server;
//     and writable, before and after (a file system that an error made
//     read-only answers a syncfs with 0 and writes nothing);
//   - the whole system holds at most `budget` octets unwritten (Dirty and
//     Writeback in /proc/meminfo), so that a delivery does not wait for
//     another program's writes (a backup's gigabytes);
//   - every target is an open descriptor on the same file system, opened
//     before what it is to make durable was written.
// Otherwise each target is fsynced as sync_each() does. A failed syncfs
// (or the fsync after it) fails every target: after it, an fsync of each
// could not tell which one the failure was.
#pragma once

#include "durable.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mta::durable {

// How a group of new files is made durable.
enum class GroupSync {
    file,        // an fsync of each file (sync_each)
    filesystem,  // one syncfs of the targets' file system, where it pays
};

// The unwritten data a syncfs may find, at most, for it to pay: 16 MiB.
constexpr std::uint64_t syncfs_budget = 16 << 20;

// Whether a syncfs pays now, from the texts of /proc/meminfo and of the
// kernel's release (uname -r): Linux 5.17 or later, and Dirty plus
// Writeback at most budget octets. False when either cannot be read.
bool syncfs_pays(std::string_view meminfo, std::string_view kernel_release, std::uint64_t budget);
// The same, for this system now.
bool syncfs_pays(std::uint64_t budget = syncfs_budget);

// Makes every target durable, as sync_each(): for each, nullopt when it
// is durable, else why not. With GroupSync::filesystem, where a syncfs
// pays (within budget) and all targets are on one file system, one syncfs
// and one fsync (fault point "syncfs"), else sync_each(). When that syncfs
// fails, `how` becomes GroupSync::file: a later syncfs would report the
// same failure again, through any descriptor opened before it, and fail
// targets that were made durable. Throws only for memory.
std::vector<std::optional<Error>> sync_group(const std::vector<SyncTarget>& targets, GroupSync& how,
                                             std::uint64_t budget = syncfs_budget);

}  // namespace mta::durable
