// Fuzz target: the configuration file as the tools read it (CLI11's INI
// reader behind lib/cli's section filter).
//
// The Command and its options are built once, as a tool builds them, and
// cleared before each input (Command::clear resets what a parse left):
// building them per input took most of the time of a run.
#include "cli/command.hpp"
#include "config.hpp"
#include "status.hpp"

#include <cstdint>
#include <sstream>

namespace {

struct Tool {
    mta::cli::Command app{"fuzz", "mta-recv"};
    mta::config::Common c;
    Tool() { mta::config::attach(app, "mta-recv", c); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Tool t;
    t.app.clear();
    t.c = mta::config::Common{};
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    try {
        t.app.parse_from_stream(in);
        mta::config::finish(t.c);
    } catch (const mta::cli::ParseError&) {
    } catch (const mta::Error&) {
    }
    return 0;
}
