#include "filesystem_sync.hpp"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <sys/stat.h>
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
        if (!n) return std::nullopt;
        return line == " kB" ? *n * 1024 : *n;
    }
    return std::nullopt;
}

// Linux 5.8 or later: syncfs reports write-back errors.
bool reports_errors(std::string_view release) {
    auto major = number(release);
    if (!major || release.empty() || release.front() != '.') return false;
    release.remove_prefix(1);
    auto minor = number(release);
    return minor && (*major > 5 || (*major == 5 && *minor >= 8));
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

// One syncfs per file system of the targets; false when a target is not
// an open descriptor or a syncfs failed.
bool sync_filesystems(const std::vector<SyncTarget>& targets) {
    std::vector<std::pair<dev_t, size_t>> systems;  // a file system and its first target
    for (size_t k = 0; k < targets.size(); ++k) {
        struct stat st;
        if (targets[k].fd < 0 || ::fstat(targets[k].fd, &st) != 0) return false;
        bool seen = false;
        for (auto& s : systems) seen = seen || s.first == st.st_dev;
        if (!seen) systems.emplace_back(st.st_dev, k);
    }
    for (auto& s : systems) {
        const SyncTarget& t = targets[s.second];
        try {
            fault_point("syncfs", t.what);
        } catch (const Error&) {
            return false;
        }
        if (::syncfs(t.fd) != 0) return false;
    }
    return true;
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
    if (how == GroupSync::filesystem && !targets.empty() && syncfs_pays(budget) && sync_filesystems(targets))
        return std::vector<std::optional<Error>>(targets.size());
    return sync_each(targets);
}

}  // namespace mta::durable
