#include "receipt_trailer.hpp"

#include "durable.hpp"
#include "status.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mta::receipt_trailer {

namespace {

// The footer's shape: 9 stands for a decimal digit, f for a hex digit.
// Earlier versions wrote its first two fields alone (short_footer octets
// with the newline).
constexpr std::string_view shape =
    "envelope-at 99999999999999999999 xxh64 ffffffffffffffff boot ffffffffffffffffffffffffffffffff\n";
constexpr size_t offset_at = 12, digits = 20, sum_at = 39, sum_digits = 16, boot_at = 61, boot_digits = 32;
constexpr size_t short_footer = offset_at + digits + 1, long_footer = shape.size();
constexpr std::string_view hex_digits = "0123456789abcdef";

struct Footer {
    std::uint64_t offset = 0;
    size_t size = 0;        // octets of the footer line
    std::string_view sum;   // the sealed form's SUM and BOOT (in the caller's tail); empty in the short form
    std::string_view boot;
};

// Whether the n octets at p have the shape of the footer's first n - 1
// octets and a newline.
bool fits(const char* p, size_t n) {
    for (size_t i = 0; i + 1 < n; ++i) {
        char c = p[i], want = shape[i];
        bool ok = want == '9' ? c >= '0' && c <= '9' : want == 'f' ? hex_digits.find(c) != hex_digits.npos : c == want;
        if (!ok) return false;
    }
    return p[n - 1] == '\n';
}

// v in base 10 or 16 as the n digits of s from at on.
void put_digits(std::string& s, size_t at, size_t n, unsigned base, std::uint64_t v) {
    for (size_t i = at + n; i-- > at; v /= base) s[i] = hex_digits[v % base];
}

// The kernel's id of this boot without its dashes (32 hex digits); zeros,
// which no boot has, when it cannot be read.
struct BootId {
    char hex[boot_digits];
    BootId() {
        std::memset(hex, '0', boot_digits);
        char buf[64], got[boot_digits];
        int fd = ::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        ssize_t n = ::read(fd, buf, sizeof buf);
        ::close(fd);
        size_t k = 0;
        for (ssize_t i = 0; i < n && buf[i] != '\n'; ++i) {
            if (buf[i] == '-') continue;
            if (k == boot_digits || hex_digits.find(buf[i]) == hex_digits.npos) return;
            got[k++] = buf[i];
        }
        if (k == boot_digits) std::memcpy(hex, got, boot_digits);
    }
};
std::string_view current_boot() {
    static const BootId boot;
    return {boot.hex, boot_digits};
}

// The footer at the end of tail, the last octets of a file of file_size
// octets (at least long_footer of them when the file has as many).
std::optional<Footer> footer_of(std::string_view tail, std::uint64_t file_size) {
    Footer f;
    const char* end = tail.data() + tail.size();
    const char* line = nullptr;
    if (tail.size() >= long_footer && fits(end - long_footer, long_footer)) {
        line = end - long_footer;
        f.sum = std::string_view(line + sum_at, sum_digits);
        f.boot = std::string_view(line + boot_at, boot_digits);
    } else if (tail.size() >= short_footer && fits(end - short_footer, short_footer)) {
        line = end - short_footer;
    } else {
        return std::nullopt;
    }
    if (line[offset_at] != '0') return std::nullopt;  // 19 digits fit 64 bits
    for (size_t i = offset_at; i < offset_at + digits; ++i) f.offset = f.offset * 10 + std::uint64_t(line[i] - '0');
    f.size = size_t(end - line);
    if (file_size < f.size || f.offset > file_size - f.size) return std::nullopt;
    return f;
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
// The last octets of a file of file_size octets, as many as a footer has.
std::string read_tail(int fd, std::uint64_t file_size, const std::string& what) {
    std::uint64_t n = std::min<std::uint64_t>(file_size, long_footer);
    return read_range(fd, off_t(file_size - n), what, n);
}

std::optional<std::pair<std::uint64_t, Envelope>> trailer_of(int fd, std::uint64_t file_size, const QueueId& id,
                                                             const std::string& what) {
    std::string tail = read_tail(fd, file_size, what);
    if (auto f = footer_of(tail, file_size)) {
        std::string text = read_range(fd, off_t(f->offset), what);
        if (text.size() >= f->size) text.resize(text.size() - f->size);
        if (auto e = envelope_at(text, f->offset, id)) return std::make_pair(f->offset, std::move(*e));
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
    std::string head;  // of a larger file, its first read
};
Start read_start(int fd, const std::string& what) {
    Start s{read_range(fd, 0, what, first_read), 0, {}};
    if (s.whole->size() == first_read) {
        s.size = file_size(fd, what);
        if (s.size > small_file) {
            s.head = std::move(*s.whole);
            s.whole.reset();
        } else {
            s.whole = read_range(fd, 0, what);  // into one buffer, sized once
        }
    }
    if (s.whole) s.size = s.whole->size();
    return s;
}

}  // namespace

std::string make(const Envelope& e, Xxh64 content_sum) {
    std::string out = serialize(e);
    content_sum.update(out);
    size_t at = out.size();
    out += shape;
    put_digits(out, at + offset_at, digits, 10, e.size);
    put_digits(out, at + sum_at, sum_digits, 16, content_sum.digest());
    std::string_view boot = current_boot();
    std::copy(boot.begin(), boot.end(), out.begin() + std::ptrdiff_t(at + boot_at));
    return out;
}

Parts split(std::string_view file, const QueueId& id) {
    if (auto f = footer_of(file.substr(file.size() - std::min(file.size(), long_footer)), file.size())) {
        std::string_view text = file.substr(f->offset, file.size() - f->size - f->offset);
        if (auto e = envelope_at(text, f->offset, id)) return {file.substr(0, f->offset), std::move(e)};
    }
    return {file, std::nullopt};
}

bool intact(int fd, const std::string& what) {
    std::uint64_t size = file_size(fd, what);
    std::string tail = read_tail(fd, size, what);
    auto f = footer_of(tail, size);
    if (!f || f->sum.empty() || f->boot == current_boot()) return true;
    Xxh64 sum;
    std::uint64_t end = size - f->size;
    for (std::uint64_t at = 0; at < end;) {
        std::string piece = read_range(fd, off_t(at), what, size_t(std::min<std::uint64_t>(end - at, small_file)));
        if (piece.empty()) return false;  // shorter than it was a moment ago
        sum.update(piece);
        at += piece.size();
    }
    std::string digest(sum_digits, '0');
    put_digits(digest, 0, sum_digits, 16, sum.digest());
    return digest == f->sum;
}

Envelope read_envelope(int fd, const QueueId& id, const std::string& what) {
    Start s = read_start(fd, what);
    if (s.whole) {
        Parts p = split(*s.whole, id);
        return p.envelope ? std::move(*p.envelope) : parse_envelope(*s.whole);
    }
    // A larger file: only the trailer is read, the envelope and the footer.
    if (auto t = trailer_of(fd, s.size, id, what)) return std::move(t->second);
    // Else an envelope of its own (of many recipients), or a file without
    // one (a power cut took its trailer), which its first line tells.
    check_envelope_start(s.head);
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
