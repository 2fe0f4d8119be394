// queue_id: message identifiers.
//
// 19 characters of Crockford base 32 (0-9, A-Z without I L O U): 11 for the
// arrival time in microseconds, 8 (40 bits) from getrandom(2). Fixed width,
// so the ids of one host sort by arrival; random, so two processes (or two
// hosts sharing an NFS spool) do not collide; a safe file name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mta {

class QueueId {
public:
    static QueueId generate();
    static QueueId from_parts(std::uint64_t micros, std::uint64_t random40);
    // Parses a 19-character id; nullopt when s is not one.
    static std::optional<QueueId> parse(std::string_view s);

    const std::string& str() const { return id_; }
    std::uint64_t arrival_micros() const;
    bool operator==(const QueueId&) const = default;
    auto operator<=>(const QueueId& o) const { return id_ <=> o.id_; }

    static constexpr size_t length = 19;

private:
    explicit QueueId(std::string s) : id_(std::move(s)) {}
    std::string id_;
};

}  // namespace mta
