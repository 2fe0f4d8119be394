#include "outgoing_message.hpp"

#include "smtp_data.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace mta {

namespace {

const Address::Options sender_options{.allow_null = true, .allow_bare_local = false, .utf8 = true};
const Address::Options rcpt_options{.allow_null = false, .allow_bare_local = false, .utf8 = true};

std::string strip_brackets(std::string_view s) {
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    return std::string(s);
}

}  // namespace

std::string read_message(int fd, const std::string& what) {
    std::string out;
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error::system("read " + what, errno);
        }
        if (n == 0) break;
        out.append(buf, size_t(n));
    }
    return out;
}

std::string xtext(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < '!' || u > '~' || c == '+' || c == '=') {
            out += '+';
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    return out;
}

OutgoingMessage make_message(std::string content, std::string_view sender, const std::vector<std::string>& rcpts) {
    OutgoingMessage m;
    std::string_view s = sender;
    m.sender = s.empty() || s == "<>" ? Address::null() : Address::parse(s, sender_options);
    for (auto& r : rcpts) {
        OutgoingRecipient o;
        o.given = strip_brackets(r);
        try {
            o.address = Address::parse(r, rcpt_options);
        } catch (const Error& e) {
            o.error = Status::permanent(553, "5.1.3", "bad recipient address syntax: " + std::string(e.what()));
        }
        m.recipients.push_back(std::move(o));
    }
    m.eight_bit = has_8bit(content);
    m.smtputf8 = m.sender.is_utf8();
    for (auto& r : m.recipients) m.smtputf8 = m.smtputf8 || (!r.error && r.address.is_utf8());
    m.size = content.size();
    m.data = smtp_data(content);
    return m;
}

OutgoingMessage load_message(const Spool& spool, std::string_view id, std::string_view sender,
                             const std::vector<std::string>& rcpts) {
    auto qid = QueueId::parse(id);
    if (!qid) throw Error::usage("not a queue id: " + std::string(id));
    auto env = spool.load(*qid);
    if (!env) throw Error::temp("message " + std::string(id) + " is not in the queue");
    OutgoingMessage m = make_message(spool.content(*qid), sender, rcpts);
    m.queue_id = qid->str();
    m.eight_bit = m.eight_bit || env->body == "8BITMIME";
    m.smtputf8 = m.smtputf8 || env->smtputf8;
    m.ret = env->ret;
    m.envid = env->envid;
    for (auto& r : m.recipients) {
        if (r.error) continue;
        for (auto& er : env->recipients)
            if (er.address == r.address) {
                r.orcpt = er.orcpt;
                r.notify = er.notify;
                break;
            }
    }
    return m;
}

}  // namespace mta
