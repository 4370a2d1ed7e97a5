// options_parse.hpp: parsing of option values the CLI shares (durations with ms/s/m suffixes).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace streambed::app {

// "250ms", "2s", "1m", "1.5s"; a bare number is milliseconds. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "max" (as fast as possible: 0) or a positive, finite number of simulated ms per wall ms.
std::optional<double> parse_time_scale(std::string_view text);

}  // namespace streambed::app
