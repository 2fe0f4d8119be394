// Fuzz target: the DATA and BDAT content reader (lib/smtp_data_reader),
// the state machine behind SMTP smuggling. The input is cut into chunks
// whose sizes come from the first bytes. Properties:
//  - the result does not depend on where the network cut the bytes
//    (the same input fed in one piece gives the same content, the same
//    end and the same verdict);
//  - DATA mode ends only at CRLF "." CRLF (or at "." CRLF first);
//  - accepted content has no CR and is exactly what a plain reference
//    decoder makes of the bytes that were read.
#include "smtp_data_reader.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using mta::smtp::DataReader;

namespace {

struct Run {
    std::string out;
    size_t used = 0;
    bool done = false;
    std::optional<mta::Status> status;
    int received = 0;
};

Run run(DataReader::Mode mode, DataReader::Limits l, std::string_view in, const std::uint8_t* cuts, size_t ncuts) {
    DataReader r(mode, l);
    Run x;
    size_t k = 0;
    while (x.used < in.size() && !r.done()) {
        size_t n = ncuts ? size_t(cuts[k++ % ncuts]) % 17 + 1 : in.size();
        n = std::min(n, in.size() - x.used);
        size_t u = r.feed(in.substr(x.used, n), x.out);
        if (u > n) std::abort();
        x.used += u;
        if (u < n && !r.done()) std::abort();  // stops early only at the end
    }
    if (mode == DataReader::Mode::bdat) r.finish(x.out);
    x.done = r.done();
    x.status = r.status();
    x.received = r.received_count();
    return x;
}

// A plain reference decoder for DATA: CRLF lines, the leading dot of each
// line removed, the final "." line dropped.
std::string unstuff(std::string_view wire) {
    std::string s;
    size_t at = 0;
    while (at < wire.size()) {
        size_t e = wire.find("\r\n", at);
        if (e == std::string_view::npos) std::abort();
        std::string_view line = wire.substr(at, e - at);
        at = e + 2;
        if (line == "." && at == wire.size()) break;
        if (!line.empty() && line[0] == '.') line.remove_prefix(1);
        s += line;
        s += '\n';
    }
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    const unsigned flags = data[0];
    const std::uint8_t* cuts = data + 1;
    const size_t ncuts = 3;
    std::string_view in(reinterpret_cast<const char*>(data + 4), size - 4);
    const DataReader::Mode mode = flags & 1 ? DataReader::Mode::bdat : DataReader::Mode::data;
    DataReader::Limits l;
    l.lf_ends_line = flags & 2;
    l.max_size = flags & 4 ? 64 : 10 * 1024 * 1024;
    l.max_line = flags & 8 ? 20 : 1000;
    l.max_received = flags & 16 ? 2 : 100;

    Run a = run(mode, l, in, cuts, ncuts);
    Run b = run(mode, l, in, nullptr, 0);
    if (a.out != b.out || a.used != b.used || a.done != b.done || a.received != b.received) std::abort();
    if (a.status.has_value() != b.status.has_value()) std::abort();
    if (a.status && a.status->code != b.status->code) std::abort();

    std::string_view used = in.substr(0, a.used);
    if (mode == DataReader::Mode::data && a.done && !l.lf_ends_line) {
        if (used != ".\r\n" && (used.size() < 5 || used.substr(used.size() - 5) != "\r\n.\r\n")) std::abort();
    }
    if (!a.status && !l.lf_ends_line) {
        if (a.out.find('\r') != std::string::npos) std::abort();
        if (a.out.size() > l.max_size) std::abort();
        if (mode == DataReader::Mode::data && a.done) {
            if (unstuff(used) != a.out) std::abort();
        } else if (mode == DataReader::Mode::bdat) {
            // BDAT never unstuffs dots; finish() adds a missing line ending.
            std::string plain;
            for (char c : a.out) {
                if (c == '\n') plain += "\r\n";
                else plain += c;
            }
            std::string want(in);
            if (!want.empty() && (want.size() < 2 || want.substr(want.size() - 2) != "\r\n")) want += "\r\n";
            if (plain != want) std::abort();
        }
    }
    return 0;
}
