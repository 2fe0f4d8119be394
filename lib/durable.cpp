#include "durable.hpp"

#include "status.hpp"
#include "sync_helpers.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace mta::durable {

namespace {

struct Faults {
    bool loaded = false;
    long crash_at = 0;
    long fail_at = 0;
    int fail_errno = EIO;
    long taken = 0;
    std::string trace;
};

Faults& faults() {
    static Faults f;
    if (!f.loaded) {
        f.loaded = true;
        if (getuid() == geteuid() && getgid() == getegid()) {
            if (const char* c = std::getenv("MTA_CRASH_AT")) f.crash_at = std::atol(c);
            if (const char* c = std::getenv("MTA_FAIL_AT")) {
                f.fail_at = std::atol(c);
                if (const char* colon = std::strchr(c, ':')) f.fail_errno = std::atoi(colon + 1);
            }
            if (const char* t = std::getenv("MTA_FAULT_TRACE")) f.trace = t;
        }
    }
    return f;
}

[[noreturn]] void fail(const std::string& what, int err) { throw Error::system(what, err); }

}  // namespace

void fault_point(std::string_view step, const std::string& path) {
    Faults& f = faults();
    long n = ++f.taken;
    if (!f.trace.empty()) {
        if (FILE* t = std::fopen(f.trace.c_str(), "a")) {
            std::fprintf(t, "%ld %.*s %s\n", n, int(step.size()), step.data(), path.c_str());
            std::fclose(t);
        }
    }
    if (f.crash_at == n) ::kill(::getpid(), SIGKILL);
    if (f.fail_at == n) {
        errno = f.fail_errno;
        fail(std::string(step) + " " + path + " (injected)", f.fail_errno);
    }
}

void set_crash_at(long n) { faults().crash_at = n; }
void set_fail_at(long n, int err) { faults().fail_at = n; faults().fail_errno = err; }
long steps_taken() { return faults().taken; }
void reset_steps() { faults().taken = 0; }
void continue_steps(long taken) { faults().taken = std::max(faults().taken, taken); }
void child_killed() {
    if (faults().crash_at > 0) continue_steps(faults().crash_at);
}

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

void Fd::close(const std::string& what) {
    if (fd_ < 0) return;
    int fd = release();
    if (::close(fd) != 0 && errno != EINTR) fail("close " + what, errno);
}

Fd create_exclusive(const std::string& path, int mode) {
    fault_point("create", path);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST) return Fd();
        fail("create " + path, errno);
    }
    return Fd(fd);
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Fd open_directory(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) fail("open directory " + path, errno);
    return Fd(fd);
}

namespace {
void write_fully(int fd, std::string_view data, const std::string& what) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write " + what, errno);
        }
        if (n == 0) fail("write " + what, EIO);
        data.remove_prefix(size_t(n));
    }
}
}  // namespace

void write_all(int fd, std::string_view data, const std::string& what) {
    fault_point("write", what);
    write_fully(fd, data, what);
}

std::string read_at(int fd, std::uint64_t from, std::size_t max, const std::string& what) {
    // Straight into the string, which is sized once for most reads: a
    // read of more than a piece asks the file's length first, and the
    // octet beyond it is room for the read that sees the end.
    constexpr size_t piece = 64 * 1024;
    size_t room = std::min(max, piece);
    struct stat st;
    if (max > piece && ::fstat(fd, &st) == 0 && std::uint64_t(st.st_size) >= from)
        room = size_t(std::min<std::uint64_t>(max, std::uint64_t(st.st_size) - from + 1));
    std::string out;
    while (out.size() < max) {
        size_t have = out.size();
        if (have == room) room = max - room < room ? max : 2 * room;
        out.resize(room);
        size_t want = room - have;
        ssize_t n = ::pread(fd, out.data() + have, want, off_t(from + have));
        out.resize(have + size_t(std::max<ssize_t>(n, 0)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("read " + what, errno);
        // Fewer octets than asked: the end of the file (a regular file's
        // read stops short only there), without another read to see it.
        if (size_t(n) < want) break;
    }
    return out;
}

void copy_file(int from, std::uint64_t size, int to, const std::string& what,
               const std::function<void(std::string_view)>& seen) {
    fault_point("write", what);
    constexpr size_t piece = 64 * 1024;
    // Not zeroed, and from the heap: a process that copies one message
    // after another gets the same pages back.
    auto buffer = std::make_unique_for_overwrite<char[]>(piece);
    for (std::uint64_t done = 0; done < size;) {
        ssize_t n = ::pread(from, buffer.get(), size_t(std::min<std::uint64_t>(piece, size - done)), off_t(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("read the message for " + what, errno);
        if (n == 0) throw Error::temp("the message for " + what + " is shorter than its size");
        std::string_view data(buffer.get(), size_t(n));
        seen(data);
        write_fully(to, data, what);
        done += std::uint64_t(n);
    }
}

void sync(int fd, const std::string& what) {
    fault_point("fsync", what);
    if (::fsync(fd) != 0) fail("fsync " + what, errno);
}

void sync_directory(const std::string& path) {
    Fd d = open_directory(path);
    fault_point("fsync-dir", path);
    if (::fsync(d.get()) != 0) fail("fsync " + path, errno);
}

void sync_made_directory(int fd, const std::string& path) {
    fault_point("fsync-dir", path + "/.");
    if (::fsync(fd) != 0) fail("fsync " + path, errno);
    size_t slash = path.rfind('/');
    sync_directory(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
}

void set_mtime(int fd, std::time_t t, const std::string& what) {
    struct timespec ts[2];
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = t;
    ts[1].tv_nsec = 0;
    if (::futimens(fd, ts) != 0) fail("set time of " + what, errno);
}

void set_owner(int fd, const Owner& o, const std::string& what) {
    fault_point("chown", what);
    if (::fchown(fd, o.uid, o.gid) != 0) fail("change owner of " + what, errno);
}

void rename(const std::string& from, const std::string& to) {
    fault_point("rename", to);
    if (::rename(from.c_str(), to.c_str()) != 0) fail("rename " + from + " " + to, errno);
}

void rename_new(const std::string& from, const std::string& to) {
    fault_point("rename", to);
    int r = ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
    if (r != 0 && (errno == EINVAL || errno == ENOSYS)) {
        // A second name, then the first one gone (were it left, recovery
        // would take it: a dot file).
        r = ::link(from.c_str(), to.c_str());
        if (r == 0) ::unlink(from.c_str());
    }
    if (r != 0) fail("rename " + from + " " + to, errno);
}

bool names_sync_with_file(int fd) {
    // ext4 marks an inode given a new name (EXT4_STATE_NEWENTRY) and its
    // fsync then writes the directory too, with or without a journal; XFS
    // logs the name with the inode's last change, which its fsync forces.
    constexpr long ext4 = 0xEF53, xfs = 0x58465342;
    struct statfs fs;
    return ::fstatfs(fd, &fs) == 0 && (long(fs.f_type) == ext4 || long(fs.f_type) == xfs);
}

void link(const std::string& from, const std::string& to) {
    fault_point("link", to);
    if (::link(from.c_str(), to.c_str()) != 0) fail("link " + from + " " + to, errno);
}

void unlink(const std::string& path, bool must_exist) {
    fault_point("unlink", path);
    if (::unlink(path.c_str()) != 0 && (must_exist || errno != ENOENT)) fail("unlink " + path, errno);
}

PreparedFile::PreparedFile(const std::string& dir, const std::string& name, std::string_view data,
                           std::optional<std::time_t> mtime, std::optional<Owner> owner)
    : dir_(dir), tmp_(dir + "/." + name + "." + std::to_string(::getpid()) + ".tmp"), final_(dir + "/" + name) {
    fd_ = create_exclusive(tmp_);
    if (!fd_) {
        // A leftover of a killed process with our pid: it was never renamed,
        // so it is garbage.
        unlink(tmp_);
        fd_ = create_exclusive(tmp_);
        if (!fd_) fail("create " + tmp_, EEXIST);
    }
    try {
        if (owner) set_owner(fd_.get(), *owner, tmp_);
        write_all(fd_.get(), data, tmp_);
        if (mtime) set_mtime(fd_.get(), *mtime, tmp_);
    } catch (...) {
        ::unlink(tmp_.c_str());
        throw;
    }
}

PreparedFile::~PreparedFile() {
    if (!installed_) ::unlink(tmp_.c_str());
}

void PreparedFile::install(bool sync_dir) {
    fd_.close(tmp_);
    rename(tmp_, final_);
    installed_ = true;
    if (sync_dir) sync_directory(dir_);
}

void replace_file(const std::string& dir, const std::string& name, std::string_view data,
                  std::optional<std::time_t> mtime, std::optional<Owner> owner) {
    PreparedFile f(dir, name, data, mtime, owner);
    sync(f.target().fd, f.target().what);
    f.install();
}

std::vector<std::optional<Error>> sync_each(const std::vector<SyncTarget>& targets) {
    std::vector<std::optional<Error>> out(targets.size());
    std::vector<Fd> dirs;
    std::vector<int> fds;
    std::vector<size_t> of;  // fds[j] is the descriptor of targets[of[j]]
    for (size_t k = 0; k < targets.size(); ++k) {
        const SyncTarget& t = targets[k];
        try {
            fault_point(t.fd >= 0 ? "fsync" : "fsync-dir", t.what);
            int fd = t.fd;
            if (fd < 0) {
                dirs.push_back(open_directory(t.what));
                fd = dirs.back().get();
            }
            fds.push_back(fd);
            of.push_back(k);
        } catch (const Error& e) {
            out[k] = e;
        }
    }
    std::vector<int> errors = sync_helpers::fsync_all(fds);
    for (size_t j = 0; j < fds.size(); ++j)
        if (errors[j]) out[of[j]] = Error::system("fsync " + targets[of[j]].what, errors[j]);
    return out;
}

void sync_together(const std::vector<SyncTarget>& targets) {
    for (auto& e : sync_each(targets))
        if (e) throw *e;
}

}  // namespace mta::durable
