#include "receipt_trailer.hpp"

#include "status.hpp"

#include <cerrno>
#include <cstdint>
#include <sys/stat.h>
#include <unistd.h>

namespace mta::receipt_trailer {

namespace {

constexpr std::string_view tag = "envelope-at ";
constexpr size_t digits = 20;
constexpr size_t footer_size = tag.size() + digits + 1;

// The OFFSET in the footer f (the last footer_size bytes of a file of
// file_size bytes), if f is a footer.
std::optional<std::uint64_t> footer_offset(std::string_view f, std::uint64_t file_size) {
    if (f.size() != footer_size || file_size < footer_size) return std::nullopt;
    if (f.substr(0, tag.size()) != tag || f.back() != '\n') return std::nullopt;
    std::uint64_t n = 0;
    for (char c : f.substr(tag.size(), digits)) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + std::uint64_t(c - '0');
    }
    if (n > file_size - footer_size) return std::nullopt;
    return n;
}

// The envelope between OFFSET and the footer, if it is one whose size is OFFSET.
std::optional<Envelope> envelope_at(std::string_view envelope_text, std::uint64_t offset) {
    try {
        Envelope e = parse_envelope(envelope_text);
        if (e.size == offset) return e;
    } catch (const Error&) {
    }
    return std::nullopt;
}

std::string read_range(int fd, off_t from, const std::string& what) {
    std::string out;
    char buf[65536];
    while (true) {
        ssize_t n = ::pread(fd, buf, sizeof buf, from);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error::system("read " + what, errno);
        }
        if (n == 0) break;
        out.append(buf, size_t(n));
        from += n;
    }
    return out;
}

}  // namespace

std::string make(const Envelope& e) {
    std::string out = serialize(e);
    std::string n = std::to_string(e.size);
    out += tag;
    out.append(digits - n.size(), '0');
    out += n;
    out += '\n';
    return out;
}

Parts split(std::string_view file) {
    if (file.size() < footer_size) return {file, std::nullopt};
    if (auto off = footer_offset(file.substr(file.size() - footer_size), file.size())) {
        std::string_view text = file.substr(*off, file.size() - footer_size - *off);
        if (auto e = envelope_at(text, *off)) return {file.substr(0, *off), std::move(e)};
    }
    return {file, std::nullopt};
}

Envelope read_envelope(int fd, const std::string& what) {
    struct stat st;
    if (::fstat(fd, &st) != 0) throw Error::system("stat " + what, errno);
    if (std::uint64_t(st.st_size) >= footer_size) {
        // Only the trailer is read: the envelope and the footer.
        std::string tail = read_range(fd, st.st_size - off_t(footer_size), what);
        if (auto off = footer_offset(tail, std::uint64_t(st.st_size))) {
            std::string text = read_range(fd, off_t(*off), what);
            if (text.size() >= footer_size) text.resize(text.size() - footer_size);
            if (auto e = envelope_at(text, *off)) return *e;
        }
    }
    return parse_envelope(read_range(fd, 0, what));
}

std::string read_content(int fd, const std::string& what) {
    std::string file = read_range(fd, 0, what);
    Parts p = split(file);
    if (p.envelope) file.resize(p.content.size());
    return file;
}

}  // namespace mta::receipt_trailer
