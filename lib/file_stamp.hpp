// file_stamp: what stat(2) says of a file, to tell whether it changed
// since it was read: its device and inode, size, modification and change
// times (to the nanosecond), or the error when there is none.
//
// A long-lived process (a worker of mta-recv, serving one session after
// another) keeps what it parsed from a table while the table's stamp stays
// the same, and reads it again once the stamp differs: an edit in place
// changes the times and usually the size, a replacement the inode. The
// stamp is taken before the file is read, so a change made during the read
// is seen at the next look.
#pragma once

#include <cstdint>
#include <string>

namespace mta {

struct FileStamp {
    int error = 0;  // errno of the stat, 0 when it succeeded
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;

    bool operator==(const FileStamp&) const = default;
};

// The stamp of path now (stat follows symbolic links, as the readers do).
FileStamp file_stamp(const std::string& path);

}  // namespace mta
