// Fuzz target: the DATA reader. However the input is split into reads, the
// reader must find the same end and produce the same content, and the
// content never holds a CR.
#include "smtp_data_reader.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    size_t step = data[0] % 7 + 1;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    using mta::smtp::DataReader;
    DataReader::Limits l;
    l.max_size = 4096;
    DataReader whole(DataReader::Mode::data, l), pieces(DataReader::Mode::data, l);
    std::string a, b;
    size_t used_a = whole.feed(in, a), used_b = 0;
    for (size_t i = 0; i < in.size() && !pieces.done(); i += step) used_b += pieces.feed(in.substr(i, std::min(step, in.size() - i)), b);
    if (used_a != used_b || a != b || whole.done() != pieces.done()) std::abort();
    if (a.find('\r') != std::string::npos) std::abort();
    if (a.size() > l.max_size) std::abort();
    if (whole.status().has_value() != pieces.status().has_value()) std::abort();
    // The end is only ever right after CRLF "." CRLF.
    if (whole.done() && (used_a < 3 || in.substr(used_a - 3, 3) != ".\r\n")) std::abort();
    if (whole.done() && used_a > 3 && in.substr(used_a - 5, 2) != "\r\n") std::abort();
    return 0;
}
