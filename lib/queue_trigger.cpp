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

Listener::Listener(const std::string& spool_root) {
    std::string p = path(spool_root);
    int fd = ::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0) return;
    read_ = durable::Fd(fd);
    if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        read_ = durable::Fd();
        return;
    }
    write_ = durable::Fd(::open(p.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
}

bool Listener::wait(int seconds) {
    using clock = std::chrono::steady_clock;
    auto end = clock::now() + std::chrono::seconds(seconds);
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
