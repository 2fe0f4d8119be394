#include "receipt_trailer.hpp"

#include "durable.hpp"
#include "status.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mta::receipt_trailer {

namespace {

constexpr std::string_view tag = "envelope-at ";
constexpr std::string_view sum_tag = " xxh64 ";
constexpr std::string_view boot_tag = " boot ";
constexpr size_t digits = 20, sum_digits = 16, boot_digits = 32;
// The footer of earlier versions, OFFSET alone, and the sealed one.
constexpr size_t short_footer = tag.size() + digits + 1;
constexpr size_t long_footer = short_footer + sum_tag.size() + sum_digits + boot_tag.size() + boot_digits;

struct Footer {
    std::uint64_t offset = 0;
    size_t size = 0;                   // octets of the footer line
    std::optional<std::uint64_t> sum;  // the sealed form's
    std::string boot;
};

bool all_of(std::string_view s, bool (*ok)(char)) { return std::all_of(s.begin(), s.end(), ok); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

std::uint64_t hex_value(std::string_view s) {
    std::uint64_t n = 0;
    for (char c : s) n = n << 4 | std::uint64_t(is_digit(c) ? c - '0' : c - 'a' + 10);
    return n;
}

// The footer at the end of tail, the last octets of a file of file_size
// octets (at least long_footer of them when the file has as many).
std::optional<Footer> footer_of(std::string_view tail, std::uint64_t file_size) {
    Footer f;
    std::string_view line;
    if (tail.size() >= long_footer) {
        std::string_view l = tail.substr(tail.size() - long_footer);
        std::string_view sum = l.substr(short_footer - 1 + sum_tag.size(), sum_digits);
        std::string_view boot = l.substr(long_footer - 1 - boot_digits, boot_digits);
        if (l.substr(short_footer - 1, sum_tag.size()) == sum_tag &&
            l.substr(long_footer - 1 - boot_digits - boot_tag.size(), boot_tag.size()) == boot_tag &&
            all_of(sum, is_hex) && all_of(boot, is_hex)) {
            line = l;
            f.sum = hex_value(sum);
            f.boot = boot;
        }
    }
    if (line.empty() && tail.size() >= short_footer) line = tail.substr(tail.size() - short_footer);
    if (line.empty() || line.substr(0, tag.size()) != tag || line.back() != '\n') return std::nullopt;
    std::string_view number = line.substr(tag.size(), digits);
    if (!all_of(number, is_digit) || number[0] != '0') return std::nullopt;  // 19 digits fit 64 bits
    for (char c : number) f.offset = f.offset * 10 + std::uint64_t(c - '0');
    f.size = line.size();
    if (file_size < f.size || f.offset > file_size - f.size) return std::nullopt;
    return f;
}

// The kernel's id of this boot without its dashes (32 hex digits); zeros,
// which no boot has, when it cannot be read.
const std::string& current_boot() {
    static const std::string boot = [] {
        std::string s;
        try {
            durable::Fd fd(::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC));
            if (fd) s = durable::read_at(fd.get(), 0, 64, "boot_id");
        } catch (const Error&) {
        }
        std::erase(s, '-');
        if (!s.empty() && s.back() == '\n') s.pop_back();
        if (s.size() != boot_digits || !all_of(s, is_hex)) s.assign(boot_digits, '0');
        return s;
    }();
    return boot;
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
    std::uint64_t tail_size = std::min<std::uint64_t>(file_size, long_footer);
    std::string tail = read_range(fd, off_t(file_size - tail_size), what, tail_size);
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

std::string make(const Envelope& e, Xxh64 content_sum) {
    std::string out = serialize(e);
    content_sum.update(out);
    std::string n = std::to_string(e.size);
    out += tag;
    out.append(digits - n.size(), '0');
    out += n;
    out += sum_tag;
    out += fmt::format("{:016x}", content_sum.digest());
    out += boot_tag;
    out += current_boot();
    out += '\n';
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
    std::uint64_t tail_size = std::min<std::uint64_t>(size, long_footer);
    auto f = footer_of(read_range(fd, off_t(size - tail_size), what, tail_size), size);
    if (!f || !f->sum || f->boot == current_boot()) return true;
    Xxh64 sum;
    std::uint64_t end = size - f->size;
    for (std::uint64_t at = 0; at < end;) {
        std::string piece = read_range(fd, off_t(at), what, size_t(std::min<std::uint64_t>(end - at, small_file)));
        if (piece.empty()) return false;  // shorter than it was a moment ago
        sum.update(piece);
        at += piece.size();
    }
    return sum.digest() == *f->sum;
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
