// Fuzz target: sendmail's command line, the arguments separated by NUL.
// Parsing either succeeds or throws a usage error, never anything else.
#include "sendmail_options.hpp"
#include "status.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> args;
    while (true) {
        auto nul = in.find('\0');
        args.emplace_back(in.substr(0, nul));
        if (nul == std::string_view::npos) break;
        in.remove_prefix(nul + 1);
    }
    try {
        mta::sendmail::parse_options("sendmail", args);
    } catch (const mta::Error& e) {
        if (e.exit_code() != mta::ex::usage) std::abort();
    }
    return 0;
}
