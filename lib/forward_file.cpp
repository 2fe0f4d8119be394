#include "forward_file.hpp"

#include "aliases.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mta::forward_file {

namespace {

Result refuse(std::string why) {
    Result r;
    // Temporary: the user can repair the file and nothing is lost meanwhile.
    r.refused = Status::temporary(451, "4.7.0", std::move(why));
    return r;
}

}  // namespace

Result load(const std::string& home, uid_t uid) {
    int dfd = ::open(home.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return {};
        return refuse("cannot open home directory " + home + ": " + std::strerror(errno));
    }
    struct stat hst;
    if (::fstat(dfd, &hst) != 0 || (hst.st_uid != uid && hst.st_uid != 0) || (hst.st_mode & 022)) {
        ::close(dfd);
        return refuse("home directory " + home + " is not safe for .forward (owner or mode)");
    }
    std::string path = home + "/.forward";
    int fd = ::openat(dfd, ".forward", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int err = errno;
    ::close(dfd);
    if (fd < 0) {
        if (err == ENOENT) return {};
        if (err == ELOOP) return refuse(path + " is a symbolic link");
        return refuse("cannot open " + path + ": " + std::strerror(err));
    }
    struct stat st;
    std::string why;
    if (::fstat(fd, &st) != 0)
        why = "cannot stat " + path;
    else if (!S_ISREG(st.st_mode))
        why = path + " is not a regular file";
    else if (st.st_uid != uid)
        why = path + " is not owned by its user";
    else if (st.st_mode & 022)
        why = path + " is group- or world-writable";
    if (!why.empty()) {
        ::close(fd);
        return refuse(why);
    }
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < 1 << 20) text.append(buf, size_t(n));
    ::close(fd);
    if (n < 0) return refuse("cannot read " + path);
    Result r;
    r.forward = Forward{aliases::split_values(text)};
    for (auto& v : r.forward->values) {
        try {
            if (aliases::classify(v).kind == aliases::Kind::include)
                return refuse(path + ": :include: is not allowed in .forward");
        } catch (const Error& e) {
            return refuse(path + ": " + e.status().text);
        }
    }
    return r;
}

}  // namespace mta::forward_file
