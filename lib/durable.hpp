// durable: every file-system step that must survive a crash, in one place.
//
// Other modules never call write/fsync/rename/unlink/fchown on queue or
// mailbox files directly; they call these, which check every result, throw
// mta::Error (ENOSPC → 452 4.3.1, other errors → 451 4.3.0) and pass a
// numbered fault point before each step. Tests make the Nth step crash
// (SIGKILL) or fail (an errno) to prove that every state a crash can leave
// is either invisible or complete:
//
//   MTA_CRASH_AT=N         raise SIGKILL just before the Nth step
//   MTA_FAIL_AT=N[:errno]  make the Nth step fail (default EIO)
//   MTA_FAULT_TRACE=FILE   append "N step path" for every step taken
//
// The variables are ignored in set-uid/set-gid processes.
#pragma once

#include "status.hpp"

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <sys/types.h>
#include <string>
#include <string_view>
#include <vector>

namespace mta::durable {

// An owned file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return fd_; }
    int release() { int f = fd_; fd_ = -1; return f; }
    explicit operator bool() const { return fd_ >= 0; }
    // close() that reports errors (NFS reports write errors here).
    void close(const std::string& what);

private:
    int fd_ = -1;
};

// Creates a new file with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC.
// Returns an empty Fd when the name exists; throws on other errors.
Fd create_exclusive(const std::string& path, int mode = 0600);
// The name of the open file fd under /proc/self/fd, by which it can be
// opened again.
std::string fd_path(int fd);
// Opens a directory (O_DIRECTORY|O_NOFOLLOW) for fsync or *at() calls.
Fd open_directory(const std::string& path);

void write_all(int fd, std::string_view data, const std::string& what);
// Up to max octets of the regular file fd from offset `from` (fewer at
// its end), read with pread, so the descriptor's offset is left alone.
std::string read_at(int fd, std::uint64_t from, std::size_t max, const std::string& what);
// Writes the first `size` octets of the file `from` (read with pread) to
// `to`, a piece of 64 KiB at a time, and hands each piece to `seen` before
// writing it: memory stays flat whatever the size. One fault point
// ("write"); a file shorter than `size` is an error (451 4.3.0), as is a
// failed read or write.
void copy_file(int from, std::uint64_t size, int to, const std::string& what,
               const std::function<void(std::string_view)>& seen);
void sync(int fd, const std::string& what);       // fsync
void sync_directory(const std::string& path);     // open + fsync + close
// fsync of a directory just made (open as fd) and of the directory that
// holds its name, so that both survive a power cut. Its fault point names
// it "<path>/.".
void sync_made_directory(int fd, const std::string& path);
// What sync_together() makes durable: an open file, or a directory by path.
struct SyncTarget {
    int fd = -1;          // the file; -1 for a directory
    std::string what;     // the file's path (for errors), or the directory
};
// fsync of several files and directories at once, each in its own thread
// (lib/sync_helpers), so that their writes and the device's cache flushes
// overlap: one wait for the disk instead of one each. Returns when all are durable; throws
// (the first failure) when any failed. The fault points are taken first,
// in the order given, in the calling thread.
void sync_together(const std::vector<SyncTarget>& targets);
// sync_together() for targets that fail alone: for each target, nullopt
// when it is durable, else why not (an injected fault, a directory that
// cannot be opened, a failed fsync fail only that target). Never throws
// but for memory.
std::vector<std::optional<Error>> sync_each(const std::vector<SyncTarget>& targets);
void set_mtime(int fd, std::time_t t, const std::string& what);
// A file that a root process creates in a directory of another user is
// given to that user (fchown), so that the user's programs can read it.
struct Owner {
    uid_t uid;
    gid_t gid;
};
void set_owner(int fd, const Owner& o, const std::string& what);
void rename(const std::string& from, const std::string& to);
// rename(2) to a name that must not exist yet (renameat2 with
// RENAME_NOREPLACE; where the file system lacks it, link(2) then unlink(2)
// of from): EEXIST fails it, as it fails link().
void rename_new(const std::string& from, const std::string& to);
// Whether the file system of the open file fd makes a file's name durable
// with the file: an fsync of a file just given a name in a directory also
// writes that directory (ext4, also without a journal; XFS). Elsewhere the
// directory needs an fsync of its own.
bool names_sync_with_file(int fd);
// link(2): a second name for the same file.
void link(const std::string& from, const std::string& to);
// unlink(2); a missing file is not an error unless must_exist.
void unlink(const std::string& path, bool must_exist = false);

// The atomic replace: write dir/.name.<pid>.tmp (given to owner when
// set), fsync, set its mtime when given, rename over dir/name, fsync dir. A reader sees the old or the new
// file, never a part.
void replace_file(const std::string& dir, const std::string& name, std::string_view data,
                  std::optional<std::time_t> mtime = std::nullopt, std::optional<Owner> owner = std::nullopt);

// replace_file() in two halves, for a caller that fsyncs the temporary
// file together with other files (sync_together): prepare() writes the
// temporary file, and install() renames it over dir/name and fsyncs dir.
// Destroyed without install(), it removes the temporary file.
class PreparedFile {
public:
    PreparedFile(const std::string& dir, const std::string& name, std::string_view data,
                 std::optional<std::time_t> mtime, std::optional<Owner> owner);
    ~PreparedFile();
    PreparedFile(const PreparedFile&) = delete;
    PreparedFile& operator=(const PreparedFile&) = delete;
    // The temporary file, open, for sync_together().
    SyncTarget target() const { return {fd_.get(), tmp_}; }
    // Call after the temporary file is durable. sync_dir false leaves the
    // directory's fsync to the caller (one for several files).
    void install(bool sync_dir = true);

private:
    std::string dir_, tmp_, final_;
    Fd fd_;
    bool installed_ = false;
};

// Fault injection (see the file comment). Every step above calls this.
void fault_point(std::string_view step, const std::string& path);
void set_crash_at(long n);
void set_fail_at(long n, int err);
long steps_taken();
void reset_steps();
// A process that had a child take steps for it continues the count from
// the child's, so that every step of the whole delivery has its own number.
void continue_steps(long taken);
// A child that was killed cannot say how far it got: when that was the
// injected crash, the count moves past it, so that no later step of this
// process (or of its next child) is killed at the same number.
void child_killed();

}  // namespace mta::durable
