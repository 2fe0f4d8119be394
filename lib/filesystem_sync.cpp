#include "filesystem_sync.hpp"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace mta::durable {

namespace {

// The number at the start of s, or nullopt; s is advanced past it.
std::optional<std::uint64_t> number(std::string_view& s) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc()) return std::nullopt;
    s.remove_prefix(size_t(end - s.data()));
    return n;
}

// The value of a line "\nKey:   123 kB" of /proc/meminfo (not its first,
// which is MemTotal), in octets.
std::optional<std::uint64_t> meminfo_octets(std::string_view meminfo, std::string_view line_start) {
    size_t at = meminfo.find(line_start);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view v = meminfo.substr(at + line_start.size());
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    auto n = number(v);
    if (!n || v.substr(0, 3) != " kB") return std::nullopt;
    return *n * 1024;
}

// Linux 5.17 or later: syncfs reports the file system's failures too.
bool reports_errors(std::string_view release) {
    auto major = number(release);
    if (!major || release.empty() || release.front() != '.') return false;
    release.remove_prefix(1);
    auto minor = number(release);
    return minor && (*major > 5 || (*major == 5 && *minor >= 17));
}

// A file system whose syncfs writes and waits for all it holds, and that
// is writable: one that an error made read-only answers a syncfs at once,
// with 0.
bool syncfs_is_whole(int fd) {
    struct statfs fs;
    if (::fstatfs(fd, &fs) != 0 || (fs.f_flags & ST_RDONLY)) return false;
    switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
        return true;
    default:
        return false;
    }
}

}  // namespace

bool syncfs_pays(std::string_view meminfo, std::string_view release, std::uint64_t budget) {
    if (!reports_errors(release)) return false;
    auto dirty = meminfo_octets(meminfo, "\nDirty:");
    auto writeback = meminfo_octets(meminfo, "\nWriteback:");
    return dirty && writeback && *dirty + *writeback <= budget;
}

bool syncfs_pays(std::uint64_t budget) {
    struct utsname u;
    if (::uname(&u) != 0) return false;
    // Dirty and Writeback come early in /proc/meminfo: one read of 8 KiB holds them.
    char buf[8192];
    int fd = ::open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    return n > 0 && syncfs_pays(std::string_view(buf, size_t(n)), u.release, budget);
}

std::vector<std::optional<Error>> sync_group(const std::vector<SyncTarget>& targets, GroupSync& how,
                                             std::uint64_t budget) {
    if (how != GroupSync::filesystem || targets.empty() || !syncfs_pays(budget)) return sync_each(targets);
    // One file system, whose syncfs is whole, and every target open on it.
    const SyncTarget& first = targets.front();
    dev_t dev = 0;
    for (auto& t : targets) {
        struct stat st;
        if (t.fd < 0 || ::fstat(t.fd, &st) != 0 || (&t != &first && st.st_dev != dev)) return sync_each(targets);
        dev = st.st_dev;
    }
    if (!syncfs_is_whole(first.fd)) return sync_each(targets);
    try {
        fault_point("syncfs", first.what);
        const char* failed = ::syncfs(first.fd) != 0 ? "syncfs " : ::fsync(first.fd) != 0 ? "fsync " : nullptr;
        int err = errno;
        if (!failed && !syncfs_is_whole(first.fd)) failed = "syncfs ", err = EROFS;
        if (failed) throw Error::system(failed + first.what, err);
    } catch (const Error& e) {
        how = GroupSync::file;
        return std::vector<std::optional<Error>>(targets.size(), e);
    }
    return std::vector<std::optional<Error>>(targets.size());
}

}  // namespace mta::durable
