#include "batch_job.hpp"
#include "status.hpp"

#include <catch2/catch.hpp>
#include <sstream>

using namespace mta;

TEST_CASE("batch jobs: a line to a job and back", "[batch_job]") {
    auto j = BatchJob::parse("1K0X04BQFNDHM219M78\ta@example.org\tb@example.org\tc@example.org");
    REQUIRE(j);
    CHECK(j->id == "1K0X04BQFNDHM219M78");
    CHECK(j->sender == "a@example.org");
    CHECK(j->recipients == std::vector<std::string>{"b@example.org", "c@example.org"});
    CHECK(j->str() == "1K0X04BQFNDHM219M78\ta@example.org\tb@example.org\tc@example.org");

    auto null_sender = BatchJob::parse("ID\t\tb@example.org");
    REQUIRE(null_sender);
    CHECK(null_sender->sender.empty());
    CHECK(null_sender->recipients == std::vector<std::string>{"b@example.org"});
    CHECK(null_sender->str() == "ID\t\tb@example.org");

    CHECK_FALSE(BatchJob::parse("ID\ta@example.org"));
    CHECK_FALSE(BatchJob::parse("ID"));
    CHECK_FALSE(BatchJob::parse(""));
}

TEST_CASE("batch jobs: reading skips empty lines and lines without recipients", "[batch_job]") {
    std::istringstream in("A\ts\tr1\n\nB\ts\nC\t\tr2\tr3\n");
    auto jobs = read_batch_jobs(in, "test");
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0].id == "A");
    CHECK(jobs[1].id == "C");
    CHECK(jobs[1].recipients.size() == 2);
}

TEST_CASE("batch jobs: --batch with a job on the command line is a usage error", "[batch_job]") {
    CHECK_NOTHROW(check_batch_command_line(false));
    try {
        check_batch_command_line(true);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.exit_code() == 64);
        CHECK(e.status().text == "--batch takes its jobs from stdin, not from the command line");
    }
}
