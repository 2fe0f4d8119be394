// receipt_trailer: how one file holds a message and its first envelope.
//
// At receipt the spool writes a single file, msg/<ID>: the content, then
// the envelope as received (serialize()), then the footer line
//
//   envelope-at OFFSET        OFFSET: 20 digits, where the envelope starts
//
// and commits it by linking the same file as env/<ID>. A received message
// so costs one new inode and one file fsync. The first rewrite of the
// envelope replaces env/<ID> by the envelope alone (a file of its own);
// msg/<ID> keeps its trailer, which readers of the content cut off. The
// envelope's size field is the content's length, which is also OFFSET: a
// footer is only believed when the envelope before it says so and names
// the file's own queue id.
#pragma once

#include "envelope.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mta::receipt_trailer {

// The bytes to append to the content: e.size must be the content's length.
std::string make(const Envelope& e);

// A whole file of message id, taken apart: the content, and the envelope
// when the file ends with a trailer that holds together (else the whole
// file is content).
struct Parts {
    std::string_view content;
    std::optional<Envelope> envelope;
};
Parts split(std::string_view file, const QueueId& id);

// The envelope in an env/ or hold/ file, whichever form it has: read from
// the trailer (without reading the content) or from the whole file.
// Throws Error (data) when it is neither.
Envelope read_envelope(int fd, const QueueId& id, const std::string& what);

// Whether the file ends with a trailer of its own: it is the file written
// at receipt, content and all, not an envelope alone.
bool holds_content(int fd, const QueueId& id, const std::string& what);

// The content of a msg/ file, without its trailer.
std::string read_content(int fd, const QueueId& id, const std::string& what);

// The length of a msg/ file's content, and the content itself (the
// trailer cut off) when the file has at most 64 KiB. Of a larger file only
// the trailer is read, for the length (the file's size when it has none).
struct Head {
    std::uint64_t size = 0;
    std::optional<std::string> content;
};
Head read_head(int fd, const QueueId& id, const std::string& what);

}  // namespace mta::receipt_trailer
