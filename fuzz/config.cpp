// Fuzz target: the configuration file as the tools read it (CLI11's INI
// reader behind lib/config's section filter).
#include "config.hpp"
#include "status.hpp"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    CLI::App app("fuzz", "mta-recv");
    mta::config::Common c;
    mta::config::attach(app, "mta-recv", c);
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    try {
        app.parse_from_stream(in);
        mta::config::finish(c);
    } catch (const CLI::Error&) {
    } catch (const mta::Error&) {
    }
    return 0;
}
