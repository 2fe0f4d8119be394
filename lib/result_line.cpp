#include "result_line.hpp"

#include "json.hpp"

#include <charconv>
#include <vector>

namespace mta {

namespace {
std::string field(std::string_view s) {
    std::string r(s);
    for (char& c : r)
        if (c == '\t' || c == '\n' || c == '\r' || c == '\0') c = ' ';
    return r;
}
}  // namespace

std::string ResultLine::str() const {
    std::string out = "result\t";
    out += field(queue_id.empty() ? "-" : queue_id) + "\t";
    out += field(recipient) + "\t";
    out += std::string(to_string(status.outcome)) + "\t";
    out += std::to_string(status.code) + "\t";
    out += field(status.enhanced) + "\t";
    out += field(host.empty() ? "-" : host) + "\t";
    out += field(status.text);
    return out;
}

std::string ResultLine::json() const {
    return json::Object()
        .add("queue_id", queue_id.empty() ? "-" : queue_id)
        .add("recipient", recipient)
        .add("result", to_string(status.outcome))
        .add("code", status.code)
        .add("enhanced", status.enhanced)
        .add("host", host.empty() ? "-" : host)
        .add("text", status.text)
        .str();
}

std::optional<ResultLine> parse_result_line(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    std::vector<std::string_view> f;
    while (f.size() < 7) {
        auto tab = line.find('\t');
        if (tab == std::string_view::npos) return std::nullopt;
        f.push_back(line.substr(0, tab));
        line.remove_prefix(tab + 1);
    }
    f.push_back(line);
    if (f[0] != "result" || f[2].empty()) return std::nullopt;
    ResultLine r;
    r.queue_id = f[1];
    r.recipient = f[2];
    if (f[3] == "ok") r.status.outcome = Outcome::ok;
    else if (f[3] == "temporary") r.status.outcome = Outcome::temporary;
    else if (f[3] == "permanent") r.status.outcome = Outcome::permanent;
    else return std::nullopt;
    int code = 0;
    auto [p, ec] = std::from_chars(f[4].data(), f[4].data() + f[4].size(), code);
    if (ec != std::errc() || p != f[4].data() + f[4].size() || code < 200 || code > 599) return std::nullopt;
    r.status.code = code;
    if (!is_enhanced_code(f[5])) return std::nullopt;
    r.status.enhanced = f[5];
    // The class digits must agree with the outcome.
    char want = r.status.outcome == Outcome::ok ? '2' : r.status.outcome == Outcome::temporary ? '4' : '5';
    if (r.status.enhanced[0] != want) return std::nullopt;
    r.host = f[6];
    r.status.text = f[7];
    return r;
}

}  // namespace mta
