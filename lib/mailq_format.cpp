#include "mailq_format.hpp"

#include "json.hpp"

#include <fmt/format.h>

namespace mta {

std::string mailq_header() { return "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"; }

std::string mailq_empty() { return "Mail queue is empty\n"; }

std::string mailq_trailer(std::uint64_t total_bytes, size_t messages) {
    return fmt::format("-- {} Kbytes in {} Request{}.\n", (total_bytes + 1023) / 1024, messages,
                       messages == 1 ? "" : "s");
}

namespace {

// The first line of an entry: id ('!' when held), size, time, sender.
std::string entry_line(const std::string& id, bool held, std::uint64_t size, std::time_t t, std::string_view sender) {
    struct tm tm;
    localtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%a %b %e %H:%M:%S", &tm);
    return fmt::format("{:<11} {:>7} {:<20.20} {}\n", id + (held ? "!" : " "), size, when, sender);
}

// A reason in parentheses, right-aligned, cut to fit the line.
std::string reason_line(const std::string& reason) {
    std::string r = reason.size() > 74 ? reason.substr(0, 71) + "..." : reason;
    int pad = 76 - int(r.size()) - 2;
    return fmt::format("{:>{}}({})\n", "", pad > 0 ? pad : 0, r);
}

}  // namespace

std::string mailq_entry(const Envelope& e, bool held) {
    std::string out = entry_line(e.id ? e.id->str() : std::string("?"), held, e.size, e.arrival,
                                 e.sender.is_null() ? "MAILER-DAEMON" : e.sender.str());
    // Pending recipients, grouped by the reason of the last deferral, in
    // the order they first appear.
    std::vector<bool> shown(e.recipients.size(), false);
    for (size_t i = 0; i < e.recipients.size(); ++i) {
        if (shown[i] || e.recipients[i].state != RcptState::pending) continue;
        const std::string& reason = e.recipients[i].last;
        if (!reason.empty()) out += reason_line(reason);
        for (size_t j = i; j < e.recipients.size(); ++j) {
            if (shown[j] || e.recipients[j].state != RcptState::pending || e.recipients[j].last != reason) continue;
            shown[j] = true;
            out += fmt::format("{:41}{}\n", "", e.recipients[j].address.str());
        }
    }
    out += "\n";
    return out;
}

std::string mailq_damaged(const DamagedEntry& d) {
    return entry_line(d.id, d.held, d.size, d.modified, "(damaged)") + reason_line(d.damage) + "\n";
}

std::string mailq_damaged_json(const DamagedEntry& d) {
    return json::Object()
        .add("queue_name", d.held ? "hold" : "active")
        .add("queue_id", d.id)
        .add("message_size", std::int64_t(d.size))
        .add("modified", std::int64_t(d.modified))
        .add("damaged", d.damage)
        .str();
}

std::string_view queue_name(const Envelope& e, bool held) {
    if (held) return "hold";
    return e.attempts > 0 ? "deferred" : "active";
}

std::string mailq_json(const Envelope& e, bool held) {
    std::string rcpts = "[";
    for (auto& r : e.recipients) {
        if (r.state != RcptState::pending) continue;
        if (rcpts.size() > 1) rcpts += ",";
        json::Object o;
        o.add("address", r.address.str());
        if (!r.last.empty()) o.add("delay_reason", r.last);
        rcpts += o.str();
    }
    rcpts += "]";
    return json::Object()
        .add("queue_name", queue_name(e, held))
        .add("queue_id", e.id ? e.id->str() : "")
        .add("arrival_time", std::int64_t(e.arrival))
        .add("message_size", std::int64_t(e.size))
        .add("sender", e.sender.str())
        .add("next_attempt", std::int64_t(e.next_attempt))
        .add("attempts", e.attempts)
        .add_raw("recipients", rcpts)
        .str();
}

}  // namespace mta
