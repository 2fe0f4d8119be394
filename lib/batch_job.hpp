// batch_job: one line of the --batch protocol between mta-queue and its
// delivery stages (mta-send --batch, mta-deliver --batch), one line per
// queued message:
//
//   ID <TAB> SENDER <TAB> RCPT [<TAB> RCPT]...
//
// SENDER is empty for the null sender. See docs/contracts.md.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mta {

struct BatchJob {
    std::string id;
    std::string sender;
    std::vector<std::string> recipients;

    // The line, without its newline.
    std::string str() const;

    // A line without a recipient is not a job: nullopt.
    static std::optional<BatchJob> parse(std::string_view line);
};

// The jobs on `in`, one per line; empty lines are skipped, and a line
// without recipients is reported on stderr as `program: ignoring ...`.
std::vector<BatchJob> read_batch_jobs(std::istream& in, std::string_view program);

// A stage run with --batch takes its jobs from stdin only: Error (usage,
// exit 64) when the command line also gives one (recipients, an id, a
// sender, a message), so that no job is silently dropped. One message for
// every stage.
void check_batch_command_line(bool command_line_job);

}  // namespace mta
