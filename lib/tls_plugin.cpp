#include "tls_plugin.hpp"

#include "status.hpp"

#include <cerrno>
#include <cstdlib>
#include <dlfcn.h>
#include <sys/auxv.h>
#include <unistd.h>

#ifndef MTA_TLS_PLUGIN_FILE
#define MTA_TLS_PLUGIN_FILE "/usr/local/lib/mta/mta-tls.so"
#endif

namespace mta::tls {

namespace {

Engine* the_engine = nullptr;
std::string load_error;  // not "" once loading failed

bool exists(const std::string& f) { return ::access(f.c_str(), F_OK) == 0; }

std::string beside_program() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "";
    std::string exe(buf, size_t(n));
    auto slash = exe.rfind('/');
    if (slash == std::string::npos) return "";
    return exe.substr(0, slash + 1) + "mta-tls.so";
}

Error failure(const std::string& text) { return Error(Status::temporary(454, "4.7.0", text), ex::unavailable); }

}  // namespace

std::string plugin_file() {
    if (!::getauxval(AT_SECURE)) {
        if (const char* env = std::getenv("MTA_TLS_PLUGIN"); env && *env) return env;
        std::string here = beside_program();
        if (!here.empty() && exists(here)) return here;
    }
    return MTA_TLS_PLUGIN_FILE;
}

Engine& engine() {
    if (the_engine) return *the_engine;
    if (!load_error.empty()) throw failure(load_error);
    std::string file = plugin_file();
    void* h = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        std::string why = ::dlerror() ?: "unknown error";
        // dlerror() usually starts with the file name: said once is enough.
        if (why.rfind(file + ": ", 0) == 0) why.erase(0, file.size() + 2);
        load_error = "cannot load the TLS plugin " + file + ": " + why;
        throw failure(load_error);
    }
    auto entry = reinterpret_cast<EntryPoint*>(::dlsym(h, entry_point_name));
    if (!entry) {
        const char* why = ::dlerror();
        load_error = "the TLS plugin " + file + " has no entry point " + entry_point_name + ": " +
                     (why ? why : "unknown error");
        throw failure(load_error);
    }
    unsigned have = 0;
    Engine* e = entry(interface_version, &have);
    if (!e) {
        load_error = "the TLS plugin " + file + " has interface version " + std::to_string(have) +
                     ", this program needs version " + std::to_string(interface_version);
        throw failure(load_error);
    }
    the_engine = e;  // never unloaded: OpenSSL keeps state until exit
    return *e;
}

bool loaded() { return the_engine != nullptr; }

}  // namespace mta::tls
