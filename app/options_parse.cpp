// options_parse.cpp: duration values.
#include "app/options_parse.hpp"

#include <charconv>
#include <cmath>

namespace streambed::app {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data() || !(value >= 0) || !std::isfinite(value)) return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    double ms;
    if (unit.empty() || unit == "ms") ms = value;
    else if (unit == "s") ms = value * 1000;
    else if (unit == "m") ms = value * 60'000;
    else return std::nullopt;
    if (ms > 1e12) return std::nullopt;
    return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

std::optional<double> parse_time_scale(std::string_view text) {
    if (text == "max") return 0.0;
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !(value > 0) || !std::isfinite(value) ||
        value > 1e9)
        return std::nullopt;
    return value;
}

}  // namespace streambed::app
