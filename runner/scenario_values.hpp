// scenario_values.hpp: the value syntaxes of scenario files — durations ("500ms", "2m"), sizes
// ("64KiB"), rates ("100KB/s"), thresholds ("< 100ms"), names — and the helpers the parser's
// messages use (formatting a duration, suggesting the nearest known name). Pure functions that
// never throw: nullopt or an error string when the text is malformed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runner/scenario.hpp"
#include "runner/scenario_metrics.hpp"

namespace streambed::runner {

// The longest duration any scenario field accepts: a scenario that runs a day is a mistake.
inline constexpr Millis kDay{24 * 3600 * 1000};

// A number with a unit: "500ms", "10s", "1.5s", "2m", "1h". The unit is required; a leading '-'
// gives a negative duration (the caller refuses it by name). Rounded to the millisecond.
std::optional<Millis> parse_duration_text(std::string_view text);

// A number of bytes with a unit: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (of 1024);
// "1.5MB" is allowed, rounded to the byte. nullopt when malformed, negative or above 2^53.
std::optional<std::uint64_t> parse_size_text(std::string_view text);

// A rate in bytes per second: a size followed by "/s" ("100KB/s", "1MiB/s", "512B/s").
std::optional<double> parse_rate_text(std::string_view text);

// "== 0", ">=0.999", "< 100ms", ">= 99.9%", "< 256MB": the operator, then a value of `kind`
// (durations in ms, sizes in MB, ratios as fractions). On failure `error` says what was expected.
struct ThresholdParse {
    Expectation::Op op = Expectation::Op::le;
    double value = 0;
    std::string error;  // empty on success
};
ThresholdParse parse_threshold(std::string_view text, MetricKind kind);

std::string_view op_text(Expectation::Op op);

// [A-Za-z0-9_-]{1,max}
bool is_name(std::string_view text, std::size_t max);
// A channel id: [A-Za-z0-9_.:-]{1,64}
bool is_channel_id(std::string_view text);

// "70s", "1.5s", "250ms", "2m", "1h": for messages.
std::string format_duration(Millis d);

// The candidate nearest to `word` (case-insensitive, transpositions count as one edit) when it is
// close enough to be a likely typo, else empty.
std::string nearest_name(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace streambed::runner
