// result_line: the per-recipient report of a delivery program.
//
// mta-send and mta-deliver print one line per recipient on stdout;
// mta-queue reads them (docs/contracts.md). Fields are separated by one TAB:
//
//   result <id> <recipient> <outcome> <code> <enhanced> <host> <text>
//
// id is the queue id or "-"; recipient is the address without <> ("" for
// none cannot happen: recipients are never null); outcome is ok, temporary
// or permanent; host is where the attempt went ("-" for none); text is the
// reply text with TABs and line breaks replaced by spaces.
#pragma once

#include "status.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace mta {

struct ResultLine {
    std::string queue_id;   // "-" when not from the spool
    std::string recipient;  // address without <>
    Status status;
    std::string host;       // "-" when no connection was made

    std::string str() const;   // the TAB-separated line, without newline
    std::string json() const;  // the same as one JSON object
};

// nullopt when the line is not a well-formed result line.
std::optional<ResultLine> parse_result_line(std::string_view line);

}  // namespace mta
