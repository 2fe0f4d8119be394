#include "log.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>
#include <unistd.h>

using namespace mta;

namespace {

std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("a log file renamed away is followed by a new one within a second", "[log]") {
    char t[] = "/tmp/mta-log-test.XXXXXX";
    std::string dir = mkdtemp(t);
    std::string path = dir + "/mail.log";
    log::open("mta/test", "file:" + path);
    log::info("first line");
    REQUIRE(std::rename(path.c_str(), (path + ".1").c_str()) == 0);
    // Lines go on to the renamed file until the next check, at most a second.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    log::info("second line");
    log::info("third line");
    CHECK(slurp(path + ".1").find("mta/test[") != std::string::npos);
    CHECK(slurp(path + ".1").find("first line") != std::string::npos);
    CHECK(slurp(path).find("second line\n") != std::string::npos);
    CHECK(slurp(path).find("third line\n") != std::string::npos);
    CHECK(slurp(path + ".1").find("second line") == std::string::npos);
    // Truncated in place (copytruncate): lines follow at the new end.
    { std::ofstream trunc(path, std::ios::trunc); }
    log::info("after truncation");
    CHECK(slurp(path).rfind("after truncation\n") != std::string::npos);
    CHECK(slurp(path).find("second line") == std::string::npos);
    log::open("mta/test", "stderr");
    [[maybe_unused]] int r = std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("threads logging across a rotation lose no line", "[log]") {
    char t[] = "/tmp/mta-log-test.XXXXXX";
    std::string dir = mkdtemp(t);
    std::string path = dir + "/mail.log";
    log::open("mta/test", "file:" + path);
    constexpr int threads = 4, lines = 300;
    std::vector<std::thread> ts;
    for (int k = 0; k < threads; ++k)
        ts.emplace_back([k] {
            for (int i = 0; i < lines; ++i) {
                log::info("thread {} line {}", k, i);
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        });
    int rotated = 0;
    for (int n = 1; n <= 2; ++n) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
        if (std::rename(path.c_str(), (path + "." + std::to_string(n)).c_str()) == 0) ++rotated;
    }
    for (auto& th : ts) th.join();
    std::string all = slurp(path);
    for (int n = 1; n <= 2; ++n) all += slurp(path + "." + std::to_string(n));
    size_t count = 0;
    for (size_t p = all.find(": thread "); p != std::string::npos; p = all.find(": thread ", p + 1)) ++count;
    CHECK(count == size_t(threads * lines));
    CHECK(rotated >= 1);
    log::open("mta/test", "stderr");
    [[maybe_unused]] int r = std::system(("rm -rf " + dir).c_str());
}
