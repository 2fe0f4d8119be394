#include "sync_helpers.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace mta;

namespace {

int threads_of_this_process() {
    int n = 0;
    DIR* d = opendir("/proc/self/task");
    if (!d) return -1;
    while (struct dirent* e = readdir(d))
        if (e->d_name[0] != '.') ++n;
    closedir(d);
    return n;
}

std::vector<int> temp_files(int n) {
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
        char t[] = "/tmp/mta-sync-test.XXXXXX";
        int fd = mkstemp(t);
        REQUIRE(fd >= 0);
        unlink(t);
        REQUIRE(write(fd, "x", 1) == 1);
        fds.push_back(fd);
    }
    return fds;
}

}  // namespace

TEST_CASE("fsync_all syncs each descriptor and reports each error", "[durable][sync]") {
    auto fds = temp_files(3);
    fds.insert(fds.begin() + 1, -1);  // a bad descriptor among good ones
    auto errors = sync_helpers::fsync_all(fds);
    REQUIRE(errors.size() == 4);
    CHECK(errors[0] == 0);
    CHECK(errors[1] == EBADF);
    CHECK(errors[2] == 0);
    CHECK(errors[3] == 0);
    CHECK(sync_helpers::fsync_all({}).empty());
    for (int fd : fds)
        if (fd >= 0) close(fd);
}

TEST_CASE("fsync_all keeps its threads instead of making new ones", "[durable][sync]") {
    auto fds = temp_files(4);
    sync_helpers::fsync_all(fds);
    int after_first = threads_of_this_process();
    for (int i = 0; i < 200; ++i) REQUIRE(sync_helpers::fsync_all(fds) == std::vector<int>(4, 0));
    CHECK(threads_of_this_process() == after_first);
    // A child made by fork has none of them, and makes its own.
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) _exit(sync_helpers::fsync_all(fds) == std::vector<int>(4, 0) ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (int fd : fds) close(fd);
}
