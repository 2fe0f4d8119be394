#include "privilege.hpp"

#include "status.hpp"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mta::privilege {

bool elevated() { return getuid() != geteuid() || getgid() != getegid(); }

void harden() {
    ::umask(077);
    for (int fd = 0; fd < 3; ++fd) {
        if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            int n = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (n < 0) _exit(ex::oserr);
            if (n != fd) _exit(ex::oserr);  // the lowest free descriptor is fd
        }
    }
    ::signal(SIGXFSZ, SIG_IGN);
}

std::string elevated_root() {
    if (geteuid() == 0)
        throw Error::config("sendmail must not be set-uid root; make it set-uid to the spool owner");
    if (getuid() == geteuid())
        throw Error::config("sendmail is set-gid only; make it set-uid to the spool owner");
    struct passwd* pw = ::getpwuid(geteuid());
    if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/')
        throw Error::config("the spool owner (uid " + std::to_string(geteuid()) + ") has no home directory");
    return pw->pw_dir;
}

std::string real_login() {
    struct passwd* pw = ::getpwuid(getuid());
    if (!pw || !pw->pw_name || !*pw->pw_name)
        throw Error(Status::permanent(550, "5.1.8", "uid " + std::to_string(getuid()) + " has no user name"),
                    ex::nouser);
    return pw->pw_name;
}

std::string sibling(std::string_view name) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw Error::system("readlink /proc/self/exe", errno);
    std::string self(buf, size_t(n));
    return self.substr(0, self.rfind('/') + 1) + std::string(name);
}

void exec(const std::string& path, const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (elevated()) {
        static char path_env[] = "PATH=/usr/bin:/bin";
        char* envp[] = {path_env, nullptr};
        ::execve(path.c_str(), argv.data(), envp);
    } else {
        ::execv(path.c_str(), argv.data());
    }
    int err = errno;
    throw Error(Status::permanent(554, "5.3.0", "cannot run " + path + ": " + std::strerror(err)), ex::unavailable);
}

}  // namespace mta::privilege
