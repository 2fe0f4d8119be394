// smtp_data_reader: the message content of DATA and BDAT, byte by byte.
//
// CRLF is the only line ending. In DATA mode the content ends at
// CRLF "." CRLF and nowhere else: a bare CR or a bare LF never ends a line,
// so "<LF>.<LF>", "<LF>.<CR><LF>", "<CR><LF>.<LF>" and the like can never
// split one message into two (SMTP smuggling, CVE-2023-51764/5/6). A message
// that contains a bare CR or bare LF is rejected as a whole (554 5.6.11)
// after its end has been read; it is never normalised. Lines starting with
// "." lose that dot (RFC 5321 4.5.2). The content is produced with LF line
// endings, the spool's format.
//
// Errors are remembered, not thrown: the reader keeps reading to the end
// (the final dot, or the last BDAT chunk) so that the next command is read
// in step, then status() says what to reply. After the first error no more
// content is produced.
//
// In local mode (sendmail -bs) a bare LF is also a line ending.
#pragma once

#include "status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mta::smtp {

class DataReader {
public:
    enum class Mode { data, bdat };
    struct Limits {
        std::uint64_t max_size = 10 * 1024 * 1024;  // bytes of content (LF line endings)
        size_t max_line = 1000;                       // octets including CRLF
        int max_received = 100;                       // this many Received fields → loop
        bool lf_ends_line = false;                    // local mode only
    };

    DataReader(Mode m, Limits l);

    // Consumes bytes up to and including the end of the data (DATA mode).
    // Returns how many bytes of `in` were used; content for the spool is
    // appended to `out`. In BDAT mode every byte is used.
    size_t feed(std::string_view in, std::string& out);
    // DATA mode: the final CRLF "." CRLF has been read.
    bool done() const { return done_; }
    // BDAT mode: the last chunk has been fed; completes the last line.
    void finish(std::string& out);

    // The reply for the message so far: nullopt when it is acceptable.
    std::optional<Status> status() const;
    std::uint64_t size() const { return size_; }
    int received_count() const { return received_; }

private:
    void emit(char c, std::string& out);
    size_t take_run(std::string_view in, size_t from, std::string& out);
    void end_line(std::string& out);
    void fail(int which);

    enum class State { bol, dot, dot_cr, mid, cr } state_ = State::bol;
    Mode mode_;
    Limits limits_;
    bool done_ = false;
    std::uint64_t size_ = 0;
    size_t line_len_ = 0;     // octets of the current line on the wire
    bool in_header_ = true;
    std::string line_start_;  // first octets of a header line (for Received:)
    int received_ = 0;
    int error_ = 0;           // bit set of the errors below
    static constexpr int bare_newline = 1, long_line = 2, too_big = 4, looping = 8;
};

}  // namespace mta::smtp
