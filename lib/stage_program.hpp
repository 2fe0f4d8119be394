// stage_program: running one external stage (mta-route, mta-send,
// mta-deliver or a script that keeps their contract, docs/contracts.md).
//
// The program gets its arguments, a string on stdin, its own process group
// and a time limit; the runner collects stdout (bounded) and stderr (the
// last lines, for the log). The fault-injection variables of lib/durable.hpp
// are removed from the child's environment: they are meant for the process
// under test, not for the stages it runs.
#pragma once

#include "result_line.hpp"
#include "status.hpp"

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mta {

// The user a stage runs as when the runner is root (docs/security.md).
struct StageUser {
    uid_t uid;
    gid_t gid;
};

struct StageRun {
    std::vector<std::string> argv;  // argv[0] is the program path
    std::optional<StageUser> user;  // set: the child drops to it before exec
    std::string input;              // written to stdin, then stdin is closed
    int timeout = 3600;             // seconds; the process group is killed after it
    size_t max_output = 16 << 20;   // stdout beyond this is discarded
};

struct StageExit {
    int exit_code = -1;     // when the program exited
    int signal = 0;         // when it was killed by a signal
    bool timed_out = false;
    bool not_started = false;  // exec failed (missing program, no permission)
    std::string out;        // stdout
    std::string err;        // stderr (the last 4 KB)
    double seconds = 0;     // wall time

    bool exited_ok() const { return exit_code == 0; }
    // One line for logs: "exit 75", "killed by signal 9", "timed out after 30s".
    std::string describe() const;
};

// For a runner that is root: the owner of the spool, whom mta-route and
// mta-send run as (they need no privileges), with the owner's primary group. Nothing when the runner is not
// root, or the spool belongs to root.
std::optional<StageUser> unprivileged_stage_user(const std::string& spool_root);

// Runs the program to completion (or its time limit). Never throws for
// the program's own failures; throws Error only when the runner cannot
// create pipes or processes.
StageExit run_stage(const StageRun& run);

// The result lines on a stage's stdout (other lines are ignored).
std::vector<ResultLine> result_lines(const std::string& out);

// The status for a recipient that has no result line: always temporary
// (a crash, signal, timeout or a missing line), worded after the exit.
Status missing_result(const StageExit& e, const std::string& program);

}  // namespace mta
