// Fuzz target: --batch job lines as mta-send and mta-deliver read them. A
// line that parses prints back to one that parses to the same job.
#include "batch_job.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto j = mta::BatchJob::parse(in)) {
        if (j->recipients.empty()) std::abort();
        std::string once = j->str();
        auto again = mta::BatchJob::parse(once);
        if (!again || again->id != j->id || again->sender != j->sender || again->recipients != j->recipients)
            std::abort();
    }
    return 0;
}
