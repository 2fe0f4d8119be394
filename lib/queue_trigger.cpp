#include "queue_trigger.hpp"

#include "status.hpp"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mta::queue_trigger {

std::string path(const std::string& spool_root) { return spool_root + "/trigger"; }

bool create(const std::string& spool_root) {
    std::string p = path(spool_root);
    if (::mkfifo(p.c_str(), 0600) == 0) return true;
    int err = errno;
    struct stat st;
    if (err == EEXIST && ::lstat(p.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) return false;
    throw Error::system("mkfifo " + p, err);
}

void pull(const std::string& spool_root) {
    int fd = ::open(path(spool_root).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return;
    struct stat st;
    // A full FIFO (EAGAIN) has been pulled already.
    if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) (void)!::write(fd, "", 1);
    ::close(fd);
}

Listener::Listener(const std::string& spool_root) : path_(path(spool_root)) { open(); }

void Listener::open() {
    read_ = durable::Fd();
    write_ = durable::Fd();
    int fd = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return;
    durable::Fd r(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
    read_ = std::move(r);
    write_ = durable::Fd(::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
}

bool Listener::wait(int seconds) {
    using clock = std::chrono::steady_clock;
    auto end = clock::now() + std::chrono::seconds(seconds);
    struct stat now, open_one;
    bool same = listening() && ::stat(path_.c_str(), &now) == 0 && ::fstat(read_.get(), &open_one) == 0 &&
                now.st_dev == open_one.st_dev && now.st_ino == open_one.st_ino;
    if (!same) open();
    if (!listening()) {
        ::sleep(unsigned(seconds));
        return false;
    }
    bool pulled = false;
    while (!pulled) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock::now()).count();
        if (left <= 0) break;
        struct pollfd p{read_.get(), POLLIN, 0};
        int n = ::poll(&p, 1, int(left));
        if (n < 0 && errno != EINTR) break;
        pulled = n > 0 && (p.revents & POLLIN);
    }
    char buf[512];
    while (::read(read_.get(), buf, sizeof buf) > 0) {
    }
    return pulled;
}

}  // namespace mta::queue_trigger
