#include "mbox.hpp"

#include "durable.hpp"
#include "status.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace mta::mbox {

namespace {

[[noreturn]] void refuse(const std::string& why) { throw Error(Status::temporary(451, "4.2.0", why)); }

using Clock = std::chrono::steady_clock;

void pause() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

// The dot-lock, removed when destroyed.
class DotLock {
public:
    DotLock(int dfd, std::string name, const std::string& shown, const Options& o, Clock::time_point deadline)
        : dfd_(dfd), name_(std::move(name)) {
        for (;;) {
            int fd = ::openat(dfd_, name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd >= 0) {
                std::string pid = std::to_string(::getpid()) + "\n";
                [[maybe_unused]] auto n = ::write(fd, pid.data(), pid.size());
                ::close(fd);
                held_ = true;
                return;
            }
            if (errno == EACCES || errno == EPERM || errno == EROFS) return;  // fcntl alone
            if (errno != EEXIST) throw Error::system("create " + shown, errno);
            if (stale(o)) {
                ::unlinkat(dfd_, name_.c_str(), 0);
                continue;
            }
            if (Clock::now() >= deadline) refuse("mailbox is locked: " + shown + " is held too long");
            pause();
        }
    }
    ~DotLock() {
        if (held_) ::unlinkat(dfd_, name_.c_str(), 0);
    }
    DotLock(const DotLock&) = delete;
    DotLock& operator=(const DotLock&) = delete;

private:
    // Older than stale_after, or naming a process of ours that is gone.
    bool stale(const Options& o) const {
        struct stat st;
        if (::fstatat(dfd_, name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
        if (std::time(nullptr) - st.st_mtime > o.stale_after) return true;
        int fd = ::openat(dfd_, name_.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return false;
        char buf[32] = {0};
        ssize_t n = ::read(fd, buf, sizeof buf - 1);
        ::close(fd);
        if (n <= 0) return false;
        long pid = std::strtol(buf, nullptr, 10);
        return pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH;
    }

    int dfd_;
    std::string name_;
    bool held_ = false;
};

}  // namespace

std::string from_line(std::string_view sender, std::time_t t) {
    struct tm tm;
    localtime_r(&t, &tm);
    char date[64];
    std::strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
    std::string s = sender.empty() ? "MAILER-DAEMON" : std::string(sender);
    for (char& c : s)
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') c = '_';
    return "From " + s + " " + date + "\n";
}

std::string quote(std::string_view m) {
    std::string out;
    out.reserve(m.size() + m.size() / 50 + 2);
    size_t i = 0;
    while (i < m.size()) {
        size_t j = i;
        while (j < m.size() && m[j] == '>') ++j;
        if (m.substr(j, 5) == "From ") out += '>';
        size_t nl = m.find('\n', i);
        size_t end = nl == std::string_view::npos ? m.size() : nl + 1;
        out.append(m.substr(i, end - i));
        i = end;
    }
    if (out.empty() || out.back() != '\n') out += '\n';
    out += '\n';
    return out;
}

void deliver(const std::string& path, std::string_view from, std::string_view prefix, std::string_view message,
             const Options& o) {
    auto slash = path.rfind('/');
    if (path.empty() || path[0] != '/' || slash + 1 == path.size()) refuse("mailbox path must be absolute: " + path);
    std::string dir = slash == 0 ? "/" : path.substr(0, slash), base = path.substr(slash + 1);
    int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) throw Error::system("open directory " + dir, errno);
    durable::Fd dfd(d);
    auto deadline = Clock::now() + std::chrono::seconds(o.lock_timeout);

    DotLock dot(dfd.get(), base + ".lock", path + ".lock", o, deadline);

    durable::Fd fd;
    int f = ::openat(dfd.get(), base.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (f < 0 && errno == ENOENT) {
        durable::fault_point("create", path);
        f = ::openat(dfd.get(), base.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    }
    if (f < 0) {
        if (errno == ELOOP) refuse(path + " is a symbolic link");
        throw Error::system("open " + path, errno);
    }
    fd = durable::Fd(f);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) throw Error::system("stat " + path, errno);
    if (!S_ISREG(st.st_mode)) refuse(path + " is not a regular file");
    if (st.st_nlink != 1) refuse(path + " has " + std::to_string(st.st_nlink) + " hard links");
    if (st.st_uid != ::geteuid()) refuse(path + " belongs to uid " + std::to_string(st.st_uid));
    // Back to blocking writes for a regular file.
    ::fcntl(fd.get(), F_SETFL, O_WRONLY | O_APPEND);

    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    while (::fcntl(fd.get(), F_SETLK, &fl) != 0) {
        if (errno != EAGAIN && errno != EACCES && errno != EINTR) throw Error::system("lock " + path, errno);
        if (Clock::now() >= deadline) refuse("mailbox is locked: " + path + " is held too long");
        pause();
    }
    // The size now that the lock is ours.
    if (::fstat(fd.get(), &st) != 0) throw Error::system("stat " + path, errno);
    off_t old_size = st.st_size;
    try {
        std::string data;
        data.reserve(from.size() + prefix.size() + message.size() + 64);
        data.append(from);
        data.append(prefix);
        data += quote(message);
        durable::write_all(fd.get(), data, path);
        durable::sync(fd.get(), path);
    } catch (...) {
        if (::ftruncate(fd.get(), old_size) == 0) ::fsync(fd.get());
        throw;
    }
    fd.close(path);  // also drops the fcntl lock
}

}  // namespace mta::mbox
