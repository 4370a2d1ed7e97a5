// fuzz_check.hpp: the properties a fuzz target asserts beyond "no crash" — a failed one aborts,
// which libFuzzer reports as a crash with the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

namespace streambed::fuzz {

[[noreturn]] inline void fail(std::string_view what, std::string_view detail) {
    std::fprintf(stderr, "fuzz property violated: %.*s\n%.*s\n", static_cast<int>(what.size()),
                 what.data(), static_cast<int>(detail.size()), detail.data());
    std::abort();
}

inline void check(bool ok, std::string_view what, std::string_view detail = {}) {
    if (!ok) fail(what, detail);
}

// What the server sends is JSON a client can parse, whatever the input was.
inline nlohmann::json require_json(std::string_view text, std::string_view what) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    check(!j.is_discarded(), what, text);
    return j;
}

}  // namespace streambed::fuzz
