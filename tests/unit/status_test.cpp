#include "result_line.hpp"
#include "status.hpp"

#include <catch2/catch.hpp>

using namespace mta;

TEST_CASE("outcomes map to sysexits codes", "[status]") {
    CHECK(Status::ok().exit_code() == 0);
    CHECK(Status::temporary(451, "4.3.0", "x").exit_code() == ex::tempfail);
    CHECK(Status::permanent(550, "5.1.1", "x").exit_code() == ex::nouser);
    CHECK(Status::permanent(550, "5.1.2", "x").exit_code() == ex::nohost);
    CHECK(Status::permanent(554, "5.6.0", "x").exit_code() == ex::dataerr);
    CHECK(Status::permanent(550, "5.7.1", "x").exit_code() == ex::noperm);
    CHECK(Status::permanent(554, "5.3.0", "x").exit_code() == ex::unavailable);
    CHECK(Error::usage("x").exit_code() == ex::usage);
    CHECK(Error::system("write", ENOSPC).status().reply().rfind("452 4.3.1", 0) == 0);
    CHECK(Error::system("write", EIO).status().reply().rfind("451 4.3.0", 0) == 0);
}

TEST_CASE("delivery program exit codes map to outcomes", "[status]") {
    CHECK(status_from_exit_code(0, "").outcome == Outcome::ok);
    for (int c : {71, 73, 74, 75}) CHECK(status_from_exit_code(c, "").outcome == Outcome::temporary);
    CHECK(status_from_exit_code(67, "").enhanced == "5.1.1");
    CHECK(status_from_exit_code(1, "").outcome == Outcome::permanent);
}

TEST_CASE("enhanced status codes are checked for shape", "[status]") {
    CHECK(is_enhanced_code("2.0.0"));
    CHECK(is_enhanced_code("5.1.10"));
    CHECK(is_enhanced_code("4.4.3"));
    CHECK_FALSE(is_enhanced_code("3.0.0"));
    CHECK_FALSE(is_enhanced_code("5.1"));
    CHECK_FALSE(is_enhanced_code("5..1"));
    CHECK_FALSE(is_enhanced_code("5.1.1x"));
    CHECK_FALSE(is_enhanced_code("5.1234.1"));
}

TEST_CASE("result lines round-trip and reject malformed input", "[result_line]") {
    ResultLine r{"0ABCDEFGHJKMNPQRSTV", "bob@example.org",
                 Status::temporary(451, "4.4.1", "connect\tfailed\nagain"), "mx.example.org[192.0.2.1]:25"};
    auto line = r.str();
    CHECK(line == "result\t0ABCDEFGHJKMNPQRSTV\tbob@example.org\ttemporary\t451\t4.4.1\tmx.example.org[192.0.2.1]:25\t"
                  "connect failed again");
    auto p = parse_result_line(line);
    REQUIRE(p);
    CHECK(p->recipient == "bob@example.org");
    CHECK(p->status.outcome == Outcome::temporary);
    CHECK(p->status.code == 451);
    CHECK(p->status.enhanced == "4.4.1");
    CHECK(p->host == "mx.example.org[192.0.2.1]:25");
    CHECK_FALSE(parse_result_line("result\t-\tbob@x\tok\t250\t5.0.0\t-\ttext"));  // class mismatch
    CHECK_FALSE(parse_result_line("result\t-\tbob@x\tmaybe\t250\t2.0.0\t-\ttext"));
    CHECK_FALSE(parse_result_line("result\t-\tbob@x\tok\t2x0\t2.0.0\t-\ttext"));
    CHECK_FALSE(parse_result_line("garbage"));
    CHECK(r.json().find("\"result\":\"temporary\"") != std::string::npos);
}
