// Fuzz target: the configuration file as the tools read it (CLI11's INI
// reader behind lib/config's section filter).
//
// The App and its options are built once, as a tool builds them, and
// cleared before each input (CLI::App::clear resets what a parse left):
// building them per input took most of the time of a run.
#include "config.hpp"
#include "status.hpp"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <sstream>

namespace {

struct Tool {
    CLI::App app{"fuzz", "mta-recv"};
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
    } catch (const CLI::Error&) {
    } catch (const mta::Error&) {
    }
    return 0;
}
