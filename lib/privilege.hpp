// privilege: running set-uid to the spool owner, as qmail-queue does.
//
// sendmail(8) is installed set-uid to the unprivileged user that owns the
// spool (never root), so that any local user can queue mail while the spool
// stays 0700. In such a process nothing the caller controls may choose
// where files go or what runs: the environment, -C and --config are not
// read; the installation root is the spool owner's home directory. The
// model is written down in docs/security.md, "Local submission".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mta::privilege {

// True when the real and effective user or group ids differ.
bool elevated();

// First thing in main: file mode creation mask 077, descriptors 0, 1 and 2
// open (on /dev/null when the caller closed them), SIGXFSZ ignored so that
// a caller's RLIMIT_FSIZE becomes a write error, not a half-written file.
void harden();

// For an elevated process: the installation root, the home directory of
// the effective user. Throws Error (config) when the program is set-uid
// root or only set-gid, which this model does not allow.
std::string elevated_root();

// The login name of the real uid (not $USER or $LOGNAME). Throws Error
// (EX_NOUSER) when the uid has no passwd entry.
std::string real_login();

// The path of a program installed in the same directory as this one.
std::string sibling(std::string_view name);

// Replaces the process with path and args (args[0] included). In an
// elevated process the environment is replaced by PATH=/usr/bin:/bin.
// Throws Error (EX_UNAVAILABLE) when the program cannot be run.
[[noreturn]] void exec(const std::string& path, const std::vector<std::string>& args);

}  // namespace mta::privilege
