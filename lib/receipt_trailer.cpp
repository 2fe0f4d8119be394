#include "receipt_trailer.hpp"

#include "durable.hpp"
#include "status.hpp"

#include <algorithm>
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
        if (c < '0' || c > '9' || n > (UINT64_MAX - 9) / 10) return std::nullopt;
        n = n * 10 + std::uint64_t(c - '0');
    }
    if (n > file_size - footer_size) return std::nullopt;
    return n;
}

// The envelope between OFFSET and the footer, if it is the file's own: its
// size is OFFSET and its id the file's. Content written before trailers
// existed may end with text shaped like one, but cannot name its own
// queue id, which has 40 random bits and was drawn after it was sent.
std::optional<Envelope> envelope_at(std::string_view envelope_text, std::uint64_t offset, const QueueId& id) {
    try {
        Envelope e = parse_envelope(envelope_text);
        if (e.size == offset && e.id && *e.id == id) return e;
    } catch (const Error&) {
    }
    return std::nullopt;
}

constexpr size_t small_file = 65536;
constexpr size_t to_the_end = size_t(-1);

// Up to max bytes from offset from (to the end of the file by default).
std::string read_range(int fd, off_t from, const std::string& what, size_t max = to_the_end) {
    return durable::read_at(fd, std::uint64_t(from), max, what);
}

std::uint64_t file_size(int fd, const std::string& what) {
    struct stat st;
    if (::fstat(fd, &st) != 0) throw Error::system("stat " + what, errno);
    return std::uint64_t(st.st_size);
}

// The trailer of the file fd (of file_size octets), read from its end
// without its content: the content's length (OFFSET) and the envelope,
// when the file has one.
std::optional<std::pair<std::uint64_t, Envelope>> trailer_of(int fd, std::uint64_t file_size, const QueueId& id,
                                                             const std::string& what) {
    if (file_size < footer_size) return std::nullopt;
    std::string tail = read_range(fd, off_t(file_size - footer_size), what, footer_size);
    if (auto off = footer_offset(tail, file_size)) {
        std::string text = read_range(fd, off_t(*off), what);
        if (text.size() >= footer_size) text.resize(text.size() - footer_size);
        if (auto e = envelope_at(text, *off, id)) return std::make_pair(*off, std::move(*e));
    }
    return std::nullopt;
}

// The file whole when it has at most small_file octets, and its size.
// Most files come in the first read, of first_read octets (a small
// message's single file, an envelope alone); only a file that fills it is
// measured, and read again whole when it is small: of a larger one the
// callers read the trailer alone.
constexpr size_t first_read = 4096;
struct Start {
    std::optional<std::string> whole;
    std::uint64_t size = 0;
};
Start read_start(int fd, const std::string& what) {
    Start s{read_range(fd, 0, what, first_read), 0};
    if (s.whole->size() == first_read) {
        s.size = file_size(fd, what);
        if (s.size > small_file) s.whole.reset();
        else s.whole = read_range(fd, 0, what);  // into one buffer, sized once
    }
    if (s.whole) s.size = s.whole->size();
    return s;
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

Parts split(std::string_view file, const QueueId& id) {
    if (file.size() < footer_size) return {file, std::nullopt};
    if (auto off = footer_offset(file.substr(file.size() - footer_size), file.size())) {
        std::string_view text = file.substr(*off, file.size() - footer_size - *off);
        if (auto e = envelope_at(text, *off, id)) return {file.substr(0, *off), std::move(e)};
    }
    return {file, std::nullopt};
}

Envelope read_envelope(int fd, const QueueId& id, const std::string& what) {
    Start s = read_start(fd, what);
    if (s.whole) {
        Parts p = split(*s.whole, id);
        return p.envelope ? std::move(*p.envelope) : parse_envelope(*s.whole);
    }
    // A larger file: only the trailer is read, the envelope and the footer.
    if (auto t = trailer_of(fd, s.size, id, what)) return std::move(t->second);
    return parse_envelope(read_range(fd, 0, what));
}

bool holds_content(int fd, const QueueId& id, const std::string& what) {
    return trailer_of(fd, file_size(fd, what), id, what).has_value();
}

Head read_head(int fd, const QueueId& id, const std::string& what) {
    Start s = read_start(fd, what);
    if (s.whole) {
        s.whole->resize(split(*s.whole, id).content.size());
        return {s.whole->size(), std::move(s.whole)};
    }
    std::uint64_t size = s.size;
    if (auto t = trailer_of(fd, size, id, what)) size = t->first;
    return {size, std::nullopt};
}

std::string read_content(int fd, const QueueId& id, const std::string& what) {
    std::string file = read_range(fd, 0, what);
    Parts p = split(file, id);
    if (p.envelope) file.resize(p.content.size());
    return file;
}

}  // namespace mta::receipt_trailer
