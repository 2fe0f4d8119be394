// filesystem_sync: one syncfs(2) in place of the fsyncs of a group of new
// files on one file system.
//
// Each fsync of a new file writes the file, its inode, the directory that
// holds its name, and ends with a flush of the disk's cache; a group of 16
// Maildir deliveries took 16 of them (at once, durable::sync_each) and
// then one of new/. A syncfs writes everything the file system holds
// unwritten and flushes once. Two things keep it from replacing fsync
// everywhere: it writes what other programs left unwritten too (a
// delivery would wait for a backup's gigabytes), and it reports a failed
// write-back only from Linux 5.8 on. So it is taken only where it pays:
// on Linux 5.8 or later, while the whole system holds at most `budget`
// octets unwritten (Dirty and Writeback in /proc/meminfo), and with every
// target open; otherwise, or when it fails, each target is fsynced as
// sync_each() does, which also tells which one failed.
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
    filesystem,  // one syncfs of each file system the targets are on, where it pays
};

// The unwritten data a syncfs may find, at most, for it to pay: 16 MiB.
constexpr std::uint64_t syncfs_budget = 16 << 20;

// Whether a syncfs pays now, from the texts of /proc/meminfo and of the
// kernel's release (uname -r): Linux 5.8 or later, and Dirty plus
// Writeback at most budget octets. False when either cannot be read.
bool syncfs_pays(std::string_view meminfo, std::string_view kernel_release, std::uint64_t budget);
// The same, for this system now.
bool syncfs_pays(std::uint64_t budget = syncfs_budget);

// Makes every target durable, as sync_each(): for each, nullopt when it
// is durable, else why not. With GroupSync::filesystem, where a syncfs
// pays (within budget) and every target is an open descriptor, one syncfs
// per file system (fault point "syncfs"); when that fails, sync_each().
std::vector<std::optional<Error>> sync_group(const std::vector<SyncTarget>& targets, GroupSync how,
                                             std::uint64_t budget = syncfs_budget);

}  // namespace mta::durable
