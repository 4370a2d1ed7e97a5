// scenario_fuzz.cpp: the scenario parser (runner/scenario_parse.hpp, `run FILE.json`) — any text
// is a checked scenario or one error naming the place; never an exception, and never the
// parser's own "internal error" (an exception its checks let through).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.hpp"
#include "runner/scenario_parse.hpp"

using namespace streambed;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto result = runner::parse_scenario(text);
    if (result.scenario) {
        fuzz::check(result.error.empty(), "a scenario and an error at once", result.error);
        fuzz::check(!result.scenario->groups.empty(), "a scenario without groups was accepted",
                    text);
        return 0;
    }
    fuzz::check(!result.error.empty(), "a refused scenario without an error", text);
    // A field may be named like that message itself (the fuzzer tries): it is then an unknown
    // field in the same words, and the input says so.
    constexpr std::string_view kInternal = "internal error while reading the scenario";
    const bool named_so = text.find(kInternal) != std::string_view::npos;
    fuzz::check(named_so || !result.error.starts_with(kInternal),
                "an exception escaped the parser's checks", result.error);
    return 0;
}
