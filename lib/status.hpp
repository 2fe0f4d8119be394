// status: the one convention for outcomes across the toolkit.
//
// Every outcome is ok, temporary or permanent and carries an SMTP reply code
// and an RFC 3463 enhanced status code. Failures are thrown as mta::Error,
// which carries a Status; per-recipient results are Status values. At the
// edge of each tool a Status becomes an SMTP reply or a sysexits code.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace mta {

enum class Outcome { ok, temporary, permanent };

std::string_view to_string(Outcome o);
// Parses "ok", "temporary", "permanent"; throws Error on anything else.
Outcome parse_outcome(std::string_view s);

// <sysexits.h> values, named here so callers need not include it.
namespace ex {
inline constexpr int ok = 0;
inline constexpr int usage = 64;
inline constexpr int dataerr = 65;
inline constexpr int noinput = 66;
inline constexpr int nouser = 67;
inline constexpr int nohost = 68;
inline constexpr int unavailable = 69;
inline constexpr int software = 70;
inline constexpr int oserr = 71;
inline constexpr int osfile = 72;
inline constexpr int cantcreat = 73;
inline constexpr int ioerr = 74;
inline constexpr int tempfail = 75;
inline constexpr int protocol = 76;
inline constexpr int noperm = 77;
inline constexpr int config = 78;
}  // namespace ex

struct Status {
    Outcome outcome = Outcome::ok;
    int code = 250;                  // SMTP reply code
    std::string enhanced = "2.0.0";  // RFC 3463 class.subject.detail
    std::string text;                // human text, one line

    static Status ok(std::string text = "Ok");
    static Status temporary(int code, std::string enhanced, std::string text);
    static Status permanent(int code, std::string enhanced, std::string text);

    bool is_ok() const { return outcome == Outcome::ok; }
    // "451 4.3.0 text"
    std::string reply() const;
    // The sysexits code a tool exits with for this outcome.
    int exit_code() const;
};

// The sysexits code for an enhanced status code of the given outcome:
// ok → 0, temporary → 75, permanent by subject (5.1.1 → 67, 5.1.2 → 68,
// 5.6.x → 65, 5.7.x → 77, 5.3.5 → 78, 5.5.x → 76, otherwise 69).
int exit_code_for(Outcome o, std::string_view enhanced);

// The outcome and enhanced code a delivery program's sysexits code means
// (71, 73, 74, 75 temporary; signals and unknown codes handled by callers).
Status status_from_exit_code(int code, std::string text);

// Checks the shape of an enhanced code: [245].digits.digits (RFC 3463).
bool is_enhanced_code(std::string_view s);

// The failure every lib function throws. exit_code() is the sysexits code
// a tool should exit with; it defaults to the one the Status implies.
class Error : public std::runtime_error {
public:
    explicit Error(Status s, int exit_code = -1);
    const Status& status() const { return status_; }
    int exit_code() const { return exit_ >= 0 ? exit_ : status_.exit_code(); }

    static Error usage(std::string text);   // 64, 5.5.4
    static Error config(std::string text);  // 78, 4.3.5
    static Error temp(std::string text);    // 75, 451 4.3.0
    static Error system(std::string what, int err);  // errno → 4.3.0 / 452 4.3.1 for ENOSPC
    static Error data(std::string text);    // 65, 554 5.6.0

private:
    Status status_;
    int exit_;
};

}  // namespace mta
