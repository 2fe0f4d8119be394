#include "maildir.hpp"

#include "durable.hpp"
#include "status.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

namespace mta::maildir {

namespace {

[[noreturn]] void refuse(const std::string& why) { throw Error(Status::temporary(451, "4.2.0", why)); }

// Opens (creating when missing, mode 0700, unless `create` is false) the
// directory `name` under dfd (or the absolute path when dfd is AT_FDCWD),
// refusing symbolic links and directories of another owner. A directory it
// creates is made durable, itself and its name: a power cut must not leave
// a Maildir without its cur/ or tmp/ (the first delivery's fsync of new/
// covers new/ alone).
durable::Fd open_dir(int dfd, const std::string& name, const std::string& shown, bool create = true) {
    int fd = ::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    bool made = false;
    if (fd < 0 && errno == ENOENT && create) {
        durable::fault_point("mkdir", shown);
        if (::mkdirat(dfd, name.c_str(), 0700) != 0 && errno != EEXIST) throw Error::system("mkdir " + shown, errno);
        made = true;
        fd = ::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR) refuse(shown + " is a symbolic link or not a directory");
        throw Error::system("open " + shown, errno);
    }
    durable::Fd d(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) throw Error::system("stat " + shown, errno);
    if (st.st_uid != ::geteuid()) refuse(shown + " belongs to uid " + std::to_string(st.st_uid));
    if (made) durable::sync_made_directory(fd, shown);
    return d;
}

std::string without_trailing_slashes(std::string dir) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return dir;
}

// Creates the parents of a Maildir that does not exist yet (mode 0700).
void make_parents(const std::string& dir) {
    for (size_t p = dir.find('/', 1); p != std::string::npos; p = dir.find('/', p + 1)) {
        std::string part = dir.substr(0, p);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) throw Error::system("mkdir " + part, errno);
    }
}

}  // namespace

std::string escape_host(std::string_view host) {
    std::string out;
    for (char c : host) {
        switch (c) {
        case '/': out += "\\057"; break;
        case ':': out += "\\072"; break;
        case '\\': out += "\\134"; break;
        case ',': out += "\\054"; break;
        default: out += c;
        }
    }
    return out.empty() ? "localhost" : out;
}

std::string unique_name(std::time_t sec, long usec, pid_t pid, unsigned long n, std::string_view host) {
    return std::to_string(sec) + ".M" + std::to_string(usec) + "P" + std::to_string(pid) + "Q" + std::to_string(n) +
           "." + escape_host(host);
}

void VirtualSize::add(std::string_view data) {
    size_ += data.size();
    const char* p = data.data();
    const char* end = p + data.size();
    char before = last_;
    while (p < end) {  // memchr is never given a null pointer (an empty view's)
        const void* hit = std::memchr(p, '\n', size_t(end - p));
        if (!hit) break;
        const char* lf = static_cast<const char*>(hit);
        if ((lf == data.data() ? before : lf[-1]) != '\r') ++bare_lf_;
        p = lf + 1;
    }
    if (!data.empty()) last_ = data.back();
}

std::string VirtualSize::suffix() const {
    return ",S=" + std::to_string(size_) + ",W=" + std::to_string(size_ + bare_lf_);
}

std::uint64_t virtual_size(std::string_view data) {
    VirtualSize v;
    v.add(data);
    return v.value();
}

std::string size_suffix(std::string_view data) {
    VirtualSize v;
    v.add(data);
    return v.suffix();
}

PendingDelivery::PendingDelivery(const std::string& dir_in, std::string_view prefix, std::string_view message,
                                 int message_fd, std::uint64_t message_size, const std::string& hostname)
    : dir_(without_trailing_slashes(dir_in)) {
    if (dir_.empty() || dir_[0] != '/') refuse("Maildir path must be absolute: " + dir_in);
    struct stat st;
    if (::lstat(dir_.c_str(), &st) != 0 && errno == ENOENT) make_parents(dir_);
    durable::Fd md = open_dir(AT_FDCWD, dir_, dir_);
    tmp_ = open_dir(md.get(), "tmp", dir_ + "/tmp");
    new_ = open_dir(md.get(), "new", dir_ + "/new");
    open_dir(md.get(), "cur", dir_ + "/cur");

    static unsigned long deliveries = 0;
    for (int tries = 0; tries < 10 && !fd_; ++tries) {
        struct timeval tv;
        ::gettimeofday(&tv, nullptr);
        name_ = unique_name(tv.tv_sec, tv.tv_usec, ::getpid(), ++deliveries, hostname);
        tmp_path_ = dir_ + "/tmp/" + name_;
        durable::fault_point("create", tmp_path_);
        int f = ::openat(tmp_.get(), name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f >= 0)
            fd_ = durable::Fd(f);
        else if (errno != EEXIST)
            throw Error::system("create " + tmp_path_, errno);
    }
    if (!fd_) refuse("cannot create a unique file in " + dir_ + "/tmp");
    try {
        // Two writes rather than a copy of the message joined to its prefix.
        durable::write_all(fd_.get(), prefix, tmp_path_);
        size_.add(prefix);
        if (message_fd < 0) {
            durable::write_all(fd_.get(), message, tmp_path_);
            size_.add(message);
        } else {
            durable::copy_file(message_fd, message_size, fd_.get(), tmp_path_,
                               [&](std::string_view p) { size_.add(p); });
        }
    } catch (...) {
        ::unlinkat(tmp_.get(), name_.c_str(), 0);
        throw;
    }
}

PendingDelivery::~PendingDelivery() {
    // Constructed, so its tmp/ file was created (a throwing constructor
    // removes its own).
    if (!committed_) ::unlinkat(tmp_.get(), name_.c_str(), 0);
}

std::string PendingDelivery::commit() {
    std::string new_name = name_ + size_.suffix();
    std::string new_path = dir_ + "/new/" + new_name;
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0 || std::uint64_t(st.st_size) != size_.size())
        throw Error::temp("size of " + tmp_path_ + " is not what was written");
    fd_.close(tmp_path_);
    durable::fault_point("link", new_path);
    if (::linkat(tmp_.get(), name_.c_str(), new_.get(), new_name.c_str(), 0) != 0) {
        int err = errno;
        if (err == EEXIST) throw Error::temp("maildir name collision: " + new_path);
        // Some file systems cannot link: rename is as good with a unique name.
        durable::fault_point("rename", new_path);
        if (::renameat(tmp_.get(), name_.c_str(), new_.get(), new_name.c_str()) != 0)
            throw Error::system("link " + tmp_path_ + " " + new_path, err);
    }
    committed_ = true;
    // Delivered: a leftover tmp/ file only wastes space (readers clean tmp/).
    try {
        durable::fault_point("unlink", tmp_path_);
        ::unlinkat(tmp_.get(), name_.c_str(), 0);
    } catch (const Error&) {
    }
    return new_path;
}

void PendingDelivery::sync_new() const { durable::sync(new_.get(), dir_ + "/new"); }

PendingDelivery::NewDirectory PendingDelivery::take_new() { return {std::move(new_), dir_ + "/new"}; }

namespace {

// A delivery of prefix and then the message: `message`, or when
// message_fd is not -1, the first message_size octets of that file.
std::string deliver_from(const std::string& dir, std::string_view prefix, std::string_view message, int message_fd,
                         std::uint64_t message_size, const std::string& hostname) {
    PendingDelivery d(dir, prefix, message, message_fd, message_size, hostname);
    durable::sync(d.target().fd, d.target().what);
    std::string path = d.commit();
    d.sync_new();
    return path;
}

}  // namespace

std::string deliver(const std::string& dir, std::string_view prefix, std::string_view message,
                    const std::string& hostname) {
    return deliver_from(dir, prefix, message, -1, 0, hostname);
}

std::string deliver(const std::string& dir, std::string_view prefix, int message_fd, std::uint64_t message_size,
                    const std::string& hostname) {
    return deliver_from(dir, prefix, {}, message_fd, message_size, hostname);
}

}  // namespace mta::maildir
