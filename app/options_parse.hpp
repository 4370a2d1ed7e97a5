// options_parse.hpp: parsing of option values the CLI shares (durations with ms/s/m suffixes).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace streambed::app {

// "250ms", "2s", "1m", "1.5s"; a bare number is milliseconds. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace streambed::app
