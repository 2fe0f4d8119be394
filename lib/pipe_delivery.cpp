#include "pipe_delivery.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mta::pipe_delivery {

namespace {

std::string first_line(std::string_view s) {
    auto nl = s.find('\n');
    std::string l(s.substr(0, nl));
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.pop_back();
    return l;
}

std::string one_line_output(std::string_view out) {
    std::string s;
    for (char c : out) s += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (s.size() > 200) s = s.substr(0, 200) + "...";
    return s;
}

}  // namespace

Status interpret(bool exited, int code, bool timed_out, std::string_view output) {
    if (timed_out) return Status::temporary(451, "4.3.0", "command time limit exceeded");
    if (!exited) return Status::temporary(451, "4.3.0", "command died with signal " + std::to_string(code));
    std::string out = one_line_output(output);
    if (code == 0) return Status::ok(out.empty() ? "delivered to command" : "delivered to command: " + out);
    std::string l = first_line(output);
    auto sp = l.find(' ');
    std::string_view codepart = std::string_view(l).substr(0, sp);
    if ((l[0] == '4' || l[0] == '5') && is_enhanced_code(codepart)) {
        std::string text = sp == std::string::npos ? "command failed" : l.substr(sp + 1);
        if (l[0] == '4') return Status::temporary(450, std::string(codepart), text);
        return Status::permanent(550, std::string(codepart), text);
    }
    std::string text = "command exited " + std::to_string(code) + (out.empty() ? "" : ": " + out);
    Status s = status_from_exit_code(code, text);
    if (code == 73) s = Status::temporary(451, "4.2.0", text);  // EX_CANTCREAT: try again
    return s;
}

Status run(const Command& c, std::string_view prefix, std::string_view message) {
    ::signal(SIGPIPE, SIG_IGN);  // a command that stops reading must not kill us
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return Status::temporary(451, "4.3.0", std::string("pipe: ") + std::strerror(errno));
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ::close(in[0]);
        ::close(in[1]);
        return Status::temporary(451, "4.3.0", std::string("pipe: ") + std::strerror(errno));
    }
    std::vector<std::string> env = {
        "SENDER=" + c.sender,       "RECIPIENT=" + c.recipient, "USER=" + c.user,
        "LOGNAME=" + c.user,        "HOME=" + (c.home.empty() ? std::string("/") : c.home),
        "EXTENSION=" + c.extension, "LOCAL=" + c.local,         "DOMAIN=" + c.domain,
        "SHELL=/bin/sh",            "PATH=/usr/local/bin:/usr/bin:/bin"};
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string cmd = c.command;
    const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
    std::string home = c.home.empty() ? "/" : c.home;

    pid_t pid = ::fork();
    if (pid < 0) {
        for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
        return Status::temporary(451, "4.3.0", std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::signal(SIGPIPE, SIG_DFL);
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::dup2(out[1], 2);
        if (::chdir(home.c_str()) != 0 && ::chdir("/") != 0) ::_exit(71);
        ::execve("/bin/sh", const_cast<char**>(argv), envp.data());
        ::_exit(71);
    }
    ::setpgid(pid, pid);
    ::close(in[0]);
    ::close(out[1]);
    ::fcntl(in[1], F_SETFL, O_NONBLOCK);

    std::string data;
    data.reserve(prefix.size() + message.size());
    data.append(prefix);
    data.append(message);
    size_t sent = 0;
    std::string output;
    bool timed_out = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(c.timeout);
    int wfd = in[1], rfd = out[0];
    if (data.empty()) {
        ::close(wfd);
        wfd = -1;
    }
    // Until the command has closed its output and taken all of its input
    // (or stopped reading it), or the time is up.
    while (rfd >= 0 || wfd >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd p[2];
        int n = 0, ri = -1, wi = -1;
        if (rfd >= 0) {
            ri = n;
            p[n++] = {rfd, POLLIN, 0};
        }
        if (wfd >= 0) {
            wi = n;
            p[n++] = {wfd, POLLOUT, 0};
        }
        int r = ::poll(p, nfds_t(n), int(std::min<long long>(left.count(), 1000)));
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        if (ri >= 0 && p[ri].revents) {
            char buf[4096];
            ssize_t k = ::read(rfd, buf, sizeof buf);
            if (k > 0) {
                if (output.size() < 2000) output.append(buf, size_t(std::min<ssize_t>(k, 2000 - ssize_t(output.size()))));
            } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
                ::close(rfd);
                rfd = -1;
            }
        }
        if (wi >= 0 && p[wi].revents) {
            ssize_t k = ::write(wfd, data.data() + sent, std::min<size_t>(data.size() - sent, 65536));
            if (k > 0) sent += size_t(k);
            // A command that stops reading (EPIPE) is judged by its exit status.
            if ((k < 0 && errno != EAGAIN && errno != EINTR) || sent == data.size()) {
                ::close(wfd);
                wfd = -1;
            }
        }
    }
    if (wfd >= 0) ::close(wfd);
    if (rfd >= 0) ::close(rfd);
    if (timed_out) ::kill(-pid, SIGKILL);
    int st = 0;
    for (;;) {
        pid_t w = ::waitpid(pid, &st, timed_out ? 0 : WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) return Status::temporary(451, "4.3.0", "lost the command's exit status");
        if (w == 0) {
            if (std::chrono::steady_clock::now() >= deadline) {
                timed_out = true;
                ::kill(-pid, SIGKILL);
            } else {
                ::usleep(10000);
            }
        }
    }
    return interpret(WIFEXITED(st), WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), timed_out, output);
}

}  // namespace mta::pipe_delivery
