#include "smtp_data_reader.hpp"

#include "ascii.hpp"

#include <cstring>

namespace mta::smtp {

DataReader::DataReader(Mode m, Limits l) : mode_(m), limits_(l) {}

void DataReader::fail(int which) { error_ |= which; }

void DataReader::emit(char c, std::string& out) {
    if (in_header_ && line_start_.size() < 9) line_start_ += c;
    if (error_) return;
    if (++size_ > limits_.max_size) {
        fail(too_big);
        return;
    }
    out += c;
}

void DataReader::end_line(std::string& out) {
    if (in_header_) {
        if (line_start_.empty()) {
            in_header_ = false;
        } else if (line_start_.size() == 9) {
            if (ascii::iequal(line_start_, "received:") && ++received_ >= limits_.max_received) fail(looping);
        }
        line_start_.clear();
    }
    if (line_len_ + 2 > limits_.max_line) fail(long_line);
    line_len_ = 0;
    if (!error_) {
        if (++size_ > limits_.max_size) fail(too_big);
        else out += '\n';
    }
}

size_t DataReader::take_run(std::string_view in, size_t from, std::string& out) {
    // The ordinary octets from `from` to the next CR or LF, in one piece,
    // when that is exactly what emit() would do octet by octet: no error
    // yet, no Received: prefix being collected, and neither limit reached
    // within the run. Returns the octets taken: 0 when the caller is to go
    // on octet by octet.
    if (error_ || (in_header_ && line_start_.size() < 9)) return 0;
    const char* p = in.data() + from;
    size_t n = in.size() - from;
    if (const void* lf = std::memchr(p, '\n', n)) n = size_t(static_cast<const char*>(lf) - p);
    if (const void* cr = std::memchr(p, '\r', n)) n = size_t(static_cast<const char*>(cr) - p);
    if (line_len_ + n + 2 > limits_.max_line || size_ + n > limits_.max_size) return 0;
    line_len_ += n;
    size_ += n;
    out.append(p, n);
    state_ = State::mid;
    return n;
}

size_t DataReader::feed(std::string_view in, std::string& out) {
    size_t i = 0;
    const bool dots = mode_ == Mode::data;
    while (i < in.size() && !done_) {
        char c = in[i++];
        switch (state_) {
        case State::bol:
            if (dots && c == '.') {
                ++line_len_;
                state_ = State::dot;
                break;
            }
            [[fallthrough]];
        case State::mid:
            if (c != '\r' && c != '\n') {
                if (size_t n = take_run(in, i - 1, out)) {
                    i += n - 1;
                    break;
                }
            }
            if (c == '\r') {
                state_ = State::cr;
            } else if (c == '\n') {
                if (limits_.lf_ends_line) {
                    end_line(out);
                    state_ = State::bol;
                } else {
                    fail(bare_newline);
                    ++line_len_;
                    state_ = State::mid;
                }
            } else {
                ++line_len_;
                emit(c, out);
                state_ = State::mid;
            }
            break;
        case State::dot:
            // A line that starts with a dot: the dot is dropped.
            if (c == '\r') {
                state_ = State::dot_cr;
            } else if (c == '\n' && limits_.lf_ends_line) {
                done_ = true;
            } else {
                --i;  // handle c as the first octet of the unstuffed line
                state_ = State::mid;
            }
            break;
        case State::dot_cr:
            if (c == '\n') {
                done_ = true;
            } else {
                // "." CR x: the CR is bare; the dot was a stuffing dot.
                fail(bare_newline);
                line_len_ += 1;
                --i;
                state_ = State::mid;
            }
            break;
        case State::cr:
            if (c == '\n') {
                end_line(out);
                state_ = State::bol;
            } else {
                fail(bare_newline);
                ++line_len_;
                --i;
                state_ = State::mid;
            }
            break;
        }
        if (line_len_ + 2 > limits_.max_line) fail(long_line);
    }
    return i;
}

void DataReader::finish(std::string& out) {
    if (state_ == State::cr || state_ == State::dot_cr) fail(bare_newline);
    // Content that does not end with a line ending gets one.
    if (state_ == State::mid || state_ == State::dot) end_line(out);
    state_ = State::bol;
    done_ = true;
}

std::optional<Status> DataReader::status() const {
    if (error_ & too_big) return Status::permanent(552, "5.3.4", "Error: message too big");
    if (error_ & looping) return Status::permanent(554, "5.4.6", "Error: too many hops, this message is looping");
    if (error_ & bare_newline)
        return Status::permanent(554, "5.6.11", "Error: bare CR or LF in message content; lines must end with CRLF");
    if (error_ & long_line) return Status::permanent(554, "5.6.0", "Error: line longer than 1000 octets");
    return std::nullopt;
}

}  // namespace mta::smtp
