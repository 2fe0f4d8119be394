#include "stage_program.hpp"

#include "envelope.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace mta {

namespace {

struct Pipe {
    int fd[2] = {-1, -1};
    Pipe() {
        if (::pipe2(fd, O_CLOEXEC) != 0) throw Error::system("pipe", errno);
    }
    ~Pipe() {
        close(0);
        close(1);
    }
    void close(int i) {
        if (fd[i] >= 0) ::close(fd[i]);
        fd[i] = -1;
    }
};

std::vector<std::string> child_environment() {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        std::string_view v(*e);
        if (v.starts_with("MTA_CRASH_AT=") || v.starts_with("MTA_FAIL_AT=") || v.starts_with("MTA_FAULT_TRACE="))
            continue;
        if (v.starts_with("MTA_QUEUE_RUN=")) continue;
        env.emplace_back(v);
    }
    // The runner logs each delivery line itself (log::delivery).
    env.emplace_back("MTA_QUEUE_RUN=1");
    return env;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// posix_spawn(3) cannot change users: a child that drops to `u` for good
// (no supplementary groups, gid, uid, and setuid(0) must then fail) before
// it does what the spawn attributes below say. Returns the errno of the
// failed step (as posix_spawn does) through a close-on-exec pipe.
int spawn_as(pid_t* pid, const StageUser& u, int in, int out, int err, char* const* argv, char* const* envp) {
    int status[2];
    if (::pipe2(status, O_CLOEXEC) != 0) return errno;
    *pid = ::fork();
    if (*pid < 0) {
        int e = errno;
        ::close(status[0]);
        ::close(status[1]);
        return e;
    }
    if (*pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGCHLD}) ::signal(s, SIG_DFL);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::setpgid(0, 0);
        int e = 0;
        if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0 || ::setgroups(1, &u.gid) != 0 ||
            ::setgid(u.gid) != 0 || ::setuid(u.uid) != 0)
            e = errno;
        else if (u.uid != 0 && ::setuid(0) == 0)
            e = EPERM;
        else
            ::execve(argv[0], argv, envp);
        if (!e) e = errno;
        ssize_t w = ::write(status[1], &e, sizeof e);
        (void)w;
        ::_exit(127);
    }
    ::close(status[1]);
    int e = 0;
    ssize_t n;
    while ((n = ::read(status[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    ::close(status[0]);
    if (n == ssize_t(sizeof e)) {
        ::waitpid(*pid, nullptr, 0);
        return e;
    }
    return 0;
}

}  // namespace

std::string StageExit::describe() const {
    if (not_started) return "could not be started";
    if (timed_out) return "timed out after " + std::to_string(int(seconds)) + "s";
    if (signal) return "killed by signal " + std::to_string(signal);
    return "exit " + std::to_string(exit_code);
}

std::optional<StageUser> unprivileged_stage_user(const std::string& spool_root) {
    struct stat st;
    if (::geteuid() != 0 || ::stat(spool_root.c_str(), &st) != 0 || st.st_uid == 0) return std::nullopt;
    // The owner's own group, not the directory's (which may be root's).
    const struct passwd* pw = ::getpwuid(st.st_uid);
    return StageUser{st.st_uid, pw ? pw->pw_gid : st.st_gid};
}

StageExit run_stage(const StageRun& run) {
    using clk = std::chrono::steady_clock;
    StageExit r;
    auto start = clk::now();
    if (run.argv.empty()) {
        r.not_started = true;
        return r;
    }
    Pipe in, out, err;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in.fd[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t deflt;
    sigemptyset(&deflt);
    sigaddset(&deflt, SIGPIPE);
    sigaddset(&deflt, SIGTERM);
    sigaddset(&deflt, SIGINT);
    sigaddset(&deflt, SIGCHLD);
    posix_spawnattr_setsigdefault(&attr, &deflt);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

    std::vector<std::string> env = child_environment();
    std::vector<char*> envp, argv;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = run.argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t pid;
    int rc = run.user ? spawn_as(&pid, *run.user, in.fd[0], out.fd[1], err.fd[1], argv.data(), envp.data())
                      : posix_spawn(&pid, args[0].c_str(), &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        r.not_started = true;
        r.err = args[0] + ": " + std::strerror(rc);
        return r;
    }
    in.close(0);
    out.close(1);
    err.close(1);
    set_nonblocking(in.fd[1]);
    set_nonblocking(out.fd[0]);
    set_nonblocking(err.fd[0]);

    size_t written = 0;
    if (run.input.empty()) in.close(1);
    auto deadline = start + std::chrono::seconds(run.timeout);
    char buf[65536];
    while (out.fd[0] >= 0 || err.fd[0] >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clk::now()).count();
        if (left <= 0) {
            r.timed_out = true;
            ::kill(-pid, SIGKILL);
            break;
        }
        pollfd p[3];
        int n = 0;
        int io = -1, oo = -1, eo = -1;
        if (in.fd[1] >= 0) p[io = n++] = {in.fd[1], POLLOUT, 0};
        if (out.fd[0] >= 0) p[oo = n++] = {out.fd[0], POLLIN, 0};
        if (err.fd[0] >= 0) p[eo = n++] = {err.fd[0], POLLIN, 0};
        int k = ::poll(p, nfds_t(n), int(std::min<long long>(left, 1000)));
        if (k < 0) {
            if (errno == EINTR) continue;
            ::kill(-pid, SIGKILL);
            break;
        }
        if (io >= 0 && p[io].revents) {
            ssize_t w = ::write(in.fd[1], run.input.data() + written, run.input.size() - written);
            if (w > 0) written += size_t(w);
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == run.input.size()) in.close(1);
        }
        auto drain = [&](Pipe& pp, std::string& into, size_t cap, bool keep_tail) {
            ssize_t got = ::read(pp.fd[0], buf, sizeof buf);
            if (got > 0) {
                if (keep_tail) {
                    into.append(buf, size_t(got));
                    if (into.size() > cap) into.erase(0, into.size() - cap);
                } else if (into.size() < cap) {
                    into.append(buf, std::min(size_t(got), cap - into.size()));
                }
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                pp.close(0);
            }
        };
        if (oo >= 0 && p[oo].revents) drain(out, r.out, run.max_output, false);
        if (eo >= 0 && p[eo].revents) drain(err, r.err, 4096, true);
    }
    in.close(1);
    int status = 0;
    while (true) {
        if (!r.timed_out) {
            // Output closed: wait for the exit, still within the time limit.
            pid_t w = ::waitpid(pid, &status, WNOHANG);
            if (w == pid) break;
            if (w < 0 && errno != EINTR) break;
            if (clk::now() >= deadline) {
                r.timed_out = true;
                ::kill(-pid, SIGKILL);
                continue;
            }
            ::usleep(2000);
            continue;
        }
        if (::waitpid(pid, &status, 0) == pid || errno != EINTR) break;
    }
    if (!r.timed_out) {
        if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    }
    // Reap any grandchild left in the group.
    ::kill(-pid, SIGKILL);
    r.seconds = std::chrono::duration<double>(clk::now() - start).count();
    return r;
}

std::vector<ResultLine> result_lines(const std::string& out) {
    std::vector<ResultLine> lines;
    size_t pos = 0;
    while (pos < out.size()) {
        size_t nl = out.find('\n', pos);
        std::string_view line(out.data() + pos, (nl == std::string::npos ? out.size() : nl) - pos);
        pos = nl == std::string::npos ? out.size() : nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (auto r = parse_result_line(line)) lines.push_back(std::move(*r));
    }
    return lines;
}

Status missing_result(const StageExit& e, const std::string& program) {
    std::string why;
    if (e.not_started) why = program + " could not be started";
    else if (e.timed_out) why = program + " " + e.describe();
    else if (e.signal) why = program + " " + e.describe();
    else why = program + " gave no result for this recipient (" + e.describe() + ")";
    // The last line of stderr usually says why.
    std::string last;
    size_t end = e.err.find_last_not_of("\n\r ");
    if (end != std::string::npos) {
        size_t b = e.err.rfind('\n', end);
        last = e.err.substr(b == std::string::npos ? 0 : b + 1, end - (b == std::string::npos ? 0 : b + 1) + 1);
    }
    if (!last.empty()) why += ": " + last;
    return Status::temporary(451, "4.3.0", one_line(why));
}

}  // namespace mta
