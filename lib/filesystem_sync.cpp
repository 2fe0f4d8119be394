#include "filesystem_sync.hpp"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

// The value of a "Key:   123 kB" line of /proc/meminfo, in octets.
std::optional<std::uint64_t> meminfo_octets(std::string_view meminfo, std::string_view key) {
    for (size_t at = 0; at < meminfo.size();) {
        size_t nl = meminfo.find('\n', at);
        std::string_view line = meminfo.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
        at = nl == std::string_view::npos ? meminfo.size() : nl + 1;
        if (line.size() <= key.size() || !line.starts_with(key) || line[key.size()] != ':') continue;
        line.remove_prefix(key.size() + 1);
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        auto n = number(line);
        if (!n || line != " kB") return std::nullopt;
        return *n * 1024;
    }
    return std::nullopt;
}

// Linux 5.17 or later: syncfs reports the file system's failures too.
bool reports_errors(std::string_view release) {
    auto major = number(release);
    if (!major || release.empty() || release.front() != '.') return false;
    release.remove_prefix(1);
    auto minor = number(release);
    return minor && (*major > 5 || (*major == 5 && *minor >= 17));
}

// File systems whose syncfs writes and waits for all they hold.
bool syncfs_is_whole(int fd) {
    struct statfs fs;
    if (::fstatfs(fd, &fs) != 0) return false;
    switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
        return true;
    default:
        return false;
    }
}

std::string read_meminfo() {
    std::string text;
    int fd = ::open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return text;
    char buf[8192];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
    ::close(fd);
    return text;
}

const std::string& kernel_release() {
    static const std::string release = [] {
        struct utsname u;
        return ::uname(&u) == 0 ? std::string(u.release) : std::string();
    }();
    return release;
}

}  // namespace

bool syncfs_pays(std::string_view meminfo, std::string_view release, std::uint64_t budget) {
    if (!reports_errors(release)) return false;
    auto dirty = meminfo_octets(meminfo, "Dirty");
    auto writeback = meminfo_octets(meminfo, "Writeback");
    return dirty && writeback && *dirty + *writeback <= budget;
}

bool syncfs_pays(std::uint64_t budget) {
    if (!reports_errors(kernel_release())) return false;  // before reading /proc
    return syncfs_pays(read_meminfo(), kernel_release(), budget);
}

std::vector<std::optional<Error>> sync_group(const std::vector<SyncTarget>& targets, GroupSync how,
                                             std::uint64_t budget) {
    if (how != GroupSync::filesystem || targets.empty() || !syncfs_pays(budget)) return sync_each(targets);
    // The file systems of the targets, each with the targets on it.
    std::vector<std::pair<dev_t, std::vector<size_t>>> systems;
    for (size_t k = 0; k < targets.size(); ++k) {
        struct stat st;
        if (targets[k].fd < 0 || ::fstat(targets[k].fd, &st) != 0) return sync_each(targets);
        auto s = systems.begin();
        while (s != systems.end() && s->first != st.st_dev) ++s;
        if (s == systems.end()) {
            if (!syncfs_is_whole(targets[k].fd)) return sync_each(targets);
            s = systems.insert(s, {st.st_dev, {}});
        }
        s->second.push_back(k);
    }
    std::vector<std::optional<Error>> out(targets.size());
    for (auto& [dev, on] : systems) {
        const SyncTarget& t = targets[on.front()];
        std::optional<Error> failed;
        try {
            fault_point("syncfs", t.what);
            if (::syncfs(t.fd) != 0) throw Error::system("syncfs " + t.what, errno);
            if (::fsync(t.fd) != 0) throw Error::system("fsync " + t.what, errno);
        } catch (const Error& e) {
            failed = e;
        }
        if (failed)
            for (size_t k : on) out[k] = failed;
    }
    return out;
}

}  // namespace mta::durable
