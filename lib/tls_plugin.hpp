// tls_plugin: finding and loading mta-tls.so, the OpenSSL engine.
//
// Nothing is loaded until engine() is first called. The plugin is looked
// for, in order:
//   1. $MTA_TLS_PLUGIN, a file name (tests, unusual installs);
//   2. mta-tls.so in the directory of the running program (build trees);
//   3. the installed file, MTA_TLS_PLUGIN_FILE (make: $(LIBDIR)/mta/mta-tls.so).
// A set-user-ID or set-group-ID process (getauxval(AT_SECURE)) skips 1 and
// 2: whoever runs it chooses its environment and, through a hard link, its
// directory, and must not choose the code it runs (docs/security.md).
// $MTA_TLS_PLUGIN, when set, is used as it is; the file beside the program
// when it exists. A file found that cannot be loaded is the error, not a
// reason to try the next place.
#pragma once

#include "tls_engine.hpp"

#include <string>

namespace mta::tls {

// Loads the plugin once (RTLD_NOW | RTLD_LOCAL) and returns its engine.
// Throws Error (temporary 454 4.7.0, exit code EX_UNAVAILABLE) naming the
// file and dlerror(); a later call throws the same error again.
Engine& engine();

// The file engine() loads (or would load).
std::string plugin_file();

// True once engine() has loaded the plugin (tests).
bool loaded();

}  // namespace mta::tls
