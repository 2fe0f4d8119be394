#include "queue_trigger.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace mta;

namespace {

std::string temp_dir() {
    char t[] = "/tmp/mta-trigger.XXXXXX";
    REQUIRE(::mkdtemp(t));
    return t;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("queue trigger: pulled without a listener, nothing blocks", "[queue_trigger]") {
    std::string d = temp_dir();
    queue_trigger::pull(d);  // no FIFO at all
    queue_trigger::create(d);
    queue_trigger::create(d);  // again: already there
    struct stat st;
    REQUIRE(::lstat(queue_trigger::path(d).c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) queue_trigger::pull(d);  // no reader: ENXIO each time
    CHECK(seconds_since(t0) < 5);
    ::unlink(queue_trigger::path(d).c_str());
    ::rmdir(d.c_str());
}

TEST_CASE("queue trigger: a listener wakes when pulled and waits its time otherwise", "[queue_trigger]") {
    std::string d = temp_dir();
    queue_trigger::create(d);
    queue_trigger::Listener l(d);
    REQUIRE(l.listening());
    // Pulls while nobody waits (during a pass) are kept, and count as one.
    for (int i = 0; i < 70000; ++i) queue_trigger::pull(d);  // more than a pipe's 64 KiB: never blocks
    auto t0 = std::chrono::steady_clock::now();
    CHECK(l.wait(30));
    CHECK(seconds_since(t0) < 5);
    // Emptied: the next wait runs its time.
    t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(l.wait(1));
    CHECK(seconds_since(t0) >= 0.9);
    ::unlink(queue_trigger::path(d).c_str());
    ::rmdir(d.c_str());
}

TEST_CASE("queue trigger: a listener finds a FIFO made after it started, or made anew", "[queue_trigger]") {
    std::string d = temp_dir();
    queue_trigger::Listener l(d);
    CHECK_FALSE(l.listening());
    queue_trigger::create(d);
    CHECK_FALSE(l.wait(1));  // opens it
    CHECK(l.listening());
    ::unlink(queue_trigger::path(d).c_str());
    queue_trigger::create(d);
    CHECK_FALSE(l.wait(1));  // still held the old one: opens the new one
    queue_trigger::pull(d);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(l.wait(30));
    CHECK(seconds_since(t0) < 5);
    ::unlink(queue_trigger::path(d).c_str());
    ::rmdir(d.c_str());
}

TEST_CASE("queue trigger: something else in the FIFO's place is never written to", "[queue_trigger]") {
    std::string d = temp_dir();
    std::string p = queue_trigger::path(d);
    FILE* f = std::fopen(p.c_str(), "w");
    REQUIRE(f);
    std::fclose(f);
    CHECK_THROWS(queue_trigger::create(d));
    queue_trigger::pull(d);
    struct stat st;
    REQUIRE(::stat(p.c_str(), &st) == 0);
    CHECK(st.st_size == 0);
    queue_trigger::Listener l(d);
    CHECK_FALSE(l.listening());
    ::unlink(p.c_str());
    ::rmdir(d.c_str());
}
