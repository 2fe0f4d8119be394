#include "batch_job.hpp"

#include "log.hpp"
#include "status.hpp"

#include <iostream>

namespace mta {

std::string BatchJob::str() const {
    std::string s = id + "\t" + sender;
    for (auto& r : recipients) s += "\t" + r;
    return s;
}

std::optional<BatchJob> BatchJob::parse(std::string_view line) {
    std::vector<std::string> f;
    while (true) {
        auto t = line.find('\t');
        f.emplace_back(line.substr(0, t));
        if (t == std::string_view::npos) break;
        line.remove_prefix(t + 1);
    }
    if (f.size() < 3) return std::nullopt;
    BatchJob j;
    j.id = std::move(f[0]);
    j.sender = std::move(f[1]);
    j.recipients.assign(std::make_move_iterator(f.begin() + 2), std::make_move_iterator(f.end()));
    return j;
}

std::vector<BatchJob> read_batch_jobs(std::istream& in, std::string_view program) {
    std::vector<BatchJob> jobs;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (auto j = BatchJob::parse(line)) jobs.push_back(std::move(*j));
        else std::cerr << program << ": ignoring a batch line without recipients: " << log::sanitize(line) << "\n";
    }
    return jobs;
}

void check_batch_command_line(bool command_line_job) {
    if (command_line_job) throw Error::usage("--batch takes its jobs from stdin, not from the command line");
}

}  // namespace mta
