// receipt_trailer: how one file holds a message and its first envelope.
//
// At receipt the spool writes a single file: the content, then the
// envelope as received (serialize()), then the footer line
//
//   envelope-at OFFSET xxh64 SUM boot BOOT
//
// OFFSET: 20 digits, where the envelope starts; SUM: 16 hex digits, the
// XXH64 of everything before the footer; BOOT: the 32 hex digits of the
// kernel's boot id when it was written. It commits the file as env/<ID>
// (docs/spool.md). A received message so costs one new inode and one file
// fsync. The first rewrite of the envelope names the file msg/<ID> and
// replaces env/<ID> by the envelope alone (a file of its own); msg/<ID>
// keeps its trailer, which readers of the content cut off. The envelope's
// size field is the content's length, which is also OFFSET: a footer is
// only believed when the envelope before it says so and names the file's
// own queue id. Files of earlier versions end with the footer's first two
// fields alone, and are read as well.
//
// SUM and BOOT tell a file that a power cut left half written (its name
// on the disk, some of its blocks not) from a whole one: a file written
// since the system started is whole when its footer is there (the writer
// wrote the footer last), one from an earlier boot only when its SUM
// matches (intact()).
#pragma once

#include "envelope.hpp"
#include "xxh64.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mta::receipt_trailer {

// The bytes to append to the content: e.size must be the content's length,
// content_sum the XXH64 state fed with the content.
std::string make(const Envelope& e, Xxh64 content_sum);

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

// False when the file ends with a footer whose SUM does not match the file
// (read whole) and was written in an earlier boot: a commit that a power
// cut interrupted, never acknowledged. True for every other file, which
// costs the reading of its footer.
bool intact(int fd, const std::string& what);

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
