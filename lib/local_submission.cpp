#include "local_submission.hpp"

#include "clock.hpp"
#include "status.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <unistd.h>

namespace mta {

namespace {

constexpr size_t header_limit = 1024 * 1024;
constexpr size_t segment_limit = 64 * 1024;
const Address::Options loose{.allow_null = false, .allow_bare_local = true, .utf8 = true};

// Reads the input as lines without holding more than one segment.
class Input {
public:
    enum class Kind { line, part, last };  // ended by LF; cut at the limit; ended by EOF without LF

    explicit Input(int fd) : fd_(fd) {}

    // The next segment, without its line ending ("\n" or "\r\n").
    // Returns false at the end of the input.
    bool next(std::string& out, Kind& kind, size_t limit) {
        out.clear();
        while (true) {
            if (pos_ == len_ && (eof_ || !fill())) {
                eof_ = true;
                if (out.empty()) return false;
                kind = Kind::last;
                return true;
            }
            const char* b = buf_ + pos_;
            size_t avail = len_ - pos_;
            size_t room = limit - out.size();
            const void* nl = std::memchr(b, '\n', std::min(avail, room));
            if (nl) {
                size_t n = static_cast<const char*>(nl) - b;
                out.append(b, n);
                pos_ += n + 1;
                if (!out.empty() && out.back() == '\r') out.pop_back();
                kind = Kind::line;
                return true;
            }
            if (avail >= room) {
                // Never cut between CR and LF.
                size_t n = room;
                if (b[n - 1] == '\r' && (n > 1 || !out.empty())) --n;
                out.append(b, n);
                pos_ += n;
                kind = Kind::part;
                return true;
            }
            out.append(b, avail);
            pos_ = len_;
        }
    }

private:
    bool fill() {
        while (true) {
            ssize_t n = ::read(fd_, buf_, sizeof buf_);
            if (n > 0) {
                pos_ = 0;
                len_ = size_t(n);
                return true;
            }
            if (n == 0) return false;
            if (errno == EINTR) continue;
            throw Error(Status::temporary(451, "4.3.0", std::string("error reading input: ") + std::strerror(errno)),
                        ex::ioerr);
        }
    }

    int fd_;
    char buf_[65536];
    size_t pos_ = 0, len_ = 0;
    bool eof_ = false;
};

void add_unique(std::vector<Address>& to, std::vector<Address> from) {
    for (auto& a : from)
        if (std::find(to.begin(), to.end(), a) == to.end()) to.push_back(std::move(a));
}

Address qualify(const Address& a, std::string_view mailname) {
    if (a.is_null() || !a.domain().empty()) return a;
    return Address::parse(a.str() + "@" + std::string(mailname), loose);
}

std::string quote_local(const std::string& s) {
    if (is_dot_string(s, true)) return s;
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q + "\"";
}

bool has_8bit(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// The header block: up to the blank line, a line that is not a field
// (which then starts the body), a lone dot or the end of the input.
struct Head {
    MessageHeader header;
    std::string seg;  // the first body line when body_line
    Input::Kind kind = Input::Kind::line;
    bool ended = false;      // the input ended within the header
    bool body_line = false;  // the body starts without a blank line, with seg
};

Head read_header(Input& in, bool dots_end) {
    Head h;
    bool first = true;
    while (in.next(h.seg, h.kind, segment_limit)) {
        if (dots_end && h.kind != Input::Kind::part && h.seg == ".") {
            h.ended = true;
            break;
        }
        if (h.kind == Input::Kind::part) throw Error::data("header line longer than 65536 bytes");
        if (first && (h.seg.rfind("From ", 0) == 0 || h.seg.rfind(">From ", 0) == 0)) {
            first = false;  // an mbox envelope line
            continue;
        }
        first = false;
        if (h.seg.empty()) break;
        if (MessageHeader::is_field_start(h.seg) ||
            (MessageHeader::is_continuation(h.seg) && !h.header.fields().empty())) {
            h.header.add_line(h.seg);
            if (h.header.bytes() > header_limit) throw Error::data("message header larger than 1 MiB");
            if (h.kind == Input::Kind::last) {
                h.ended = true;
                break;
            }
            continue;
        }
        h.body_line = true;
        break;
    }
    return h;
}

}  // namespace

std::string read_mailname(const std::string& path, const std::string& fallback) {
    std::ifstream in(path);
    std::string line;
    if (in && std::getline(in, line)) {
        auto b = line.find_first_not_of(" \t\r");
        auto e = line.find_last_not_of(" \t\r");
        if (b != std::string::npos) {
            std::string name = line.substr(b, e - b + 1);
            if (auto d = Domain::try_parse(name)) return d->str();
        }
    }
    return fallback;
}

std::vector<Address> parse_addresses(std::string_view list, std::string_view mailname) {
    std::vector<Address> out;
    for (auto& m : parse_address_list(list)) {
        try {
            add_unique(out, {qualify(Address::parse(m.address, loose), mailname)});
        } catch (const Error& e) {
            throw Error::data("bad address '" + m.address + "': " + e.status().text);
        }
    }
    return out;
}

Address envelope_sender(const sendmail::Options& o, const LocalUser& u) {
    if (!o.sender) return Address::parse(quote_local(u.login) + "@" + u.mailname, loose);
    std::string_view s = *o.sender;
    if (s.empty() || s == "<>") return Address::null();
    try {
        return qualify(Address::parse(s, loose), u.mailname);
    } catch (const Error& e) {
        throw Error::usage("bad sender address '" + *o.sender + "' given with -f: " + e.status().text);
    }
}

std::vector<Address> header_recipients(const MessageHeader& h, std::string_view mailname) {
    static const char* const resent[] = {"Resent-To", "Resent-Cc", "Resent-Bcc"};
    static const char* const plain[] = {"To", "Cc", "Bcc"};
    bool use_resent = false;
    for (auto n : resent) use_resent = use_resent || h.has(n);
    std::vector<Address> out;
    for (auto n : use_resent ? resent : plain)
        for (auto& v : h.values(n)) add_unique(out, parse_addresses(v, mailname));
    return out;
}

std::string fix_header(MessageHeader& h, const sendmail::Options& o, const LocalUser& u, const Address& sender,
                       const QueueId& id, std::time_t now) {
    h.remove("Return-Path");
    h.remove("Bcc");
    h.remove("Resent-Bcc");
    if (!h.has("From")) {
        Address from = sender.is_null() ? Address::parse(quote_local(u.login) + "@" + u.mailname, loose) : sender;
        std::string name = o.full_name ? *o.full_name : u.name;
        h.append("From", name.empty() ? from.str() : encode_phrase(name) + " <" + from.str() + ">");
    }
    if (!h.has("Date")) h.append("Date", clock::rfc5322(now));
    auto ids = h.values("Message-ID");
    if (!ids.empty()) return ids.front();
    std::string mid = "<" + id.str() + "@" + u.hostname + ">";
    h.append("Message-ID", mid);
    return mid;
}

Submitted submit(const sendmail::Options& o, const LocalUser& u, const Spool& spool, int fd) {
    Envelope env;
    env.sender = envelope_sender(o, u);
    std::vector<Address> rcpts;
    for (auto& r : o.recipients) add_unique(rcpts, parse_addresses(r, u.mailname));
    if (rcpts.empty() && !o.extract_recipients)
        throw Error::usage("no recipients: give them on the command line or use -t");

    Input in(fd);
    const bool dots_end = !o.ignore_dots;
    Head head = read_header(in, dots_end);
    MessageHeader& header = head.header;
    std::string& seg = head.seg;
    Input::Kind& kind = head.kind;
    const bool ended = head.ended;
    auto lone_dot = [&] { return dots_end && kind != Input::Kind::part && seg == "."; };

    if (o.extract_recipients) {
        add_unique(rcpts, header_recipients(header, u.mailname));
        if (rcpts.empty())
            throw Error::usage("no recipients: none on the command line and none in To:, Cc: or Bcc:");
    }

    Spool::Incoming msg = spool.receive();
    std::time_t now = clock::now();
    std::string message_id = fix_header(header, o, u, env.sender, msg.id(), now);
    header.prepend("Received", "by " + u.hostname + " (mta, from userid " + std::to_string(u.uid) + ")\n\tid " +
                                   msg.id().str() + "; " + clock::rfc5322(now));
    msg.write(header.str());
    msg.write("\n");

    // The body: copied line by line, never dot-unstuffed.
    bool open_line = false, eight_bit = has_8bit(header.str());
    auto copy = [&] {
        eight_bit = eight_bit || has_8bit(seg);
        msg.write(seg);
        open_line = kind == Input::Kind::part;
        if (!open_line) msg.write("\n");
    };
    if (head.body_line) copy();
    if (!ended) {
        while (in.next(seg, kind, segment_limit)) {
            if (!open_line && lone_dot()) break;
            copy();
        }
    }
    if (open_line) msg.write("\n");

    env.arrival = now;
    env.client = "local";
    env.protocol = "local";
    // Without -B, 8-bit content is declared so that relays announce it.
    env.body = !o.body.empty() ? o.body : eight_bit ? "8BITMIME" : "";
    env.smtputf8 = env.sender.is_utf8() ||
                   std::any_of(rcpts.begin(), rcpts.end(), [](const Address& a) { return a.is_utf8(); });
    env.ret = o.ret;
    env.envid = o.envid;
    env.set_extra("uid", std::to_string(u.uid));
    for (auto& a : rcpts) {
        Recipient r;
        r.address = a;
        r.notify = o.notify;
        env.recipients.push_back(std::move(r));
    }
    QueueId id = msg.id();
    msg.commit(env);
    return {id, std::move(env), message_id};
}

}  // namespace mta
