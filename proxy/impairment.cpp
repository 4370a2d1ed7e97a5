// impairment.cpp: the JSON form of an impairment, and the duration and bandwidth values in it.
#include "proxy/impairment.hpp"

#include <charconv>
#include <cmath>
#include <set>

namespace streambed::proxy {
using json = nlohmann::json;

namespace {

using std::chrono::microseconds;

// Names travel in URLs (DELETE /impairments/NAME): keep them to a safe alphabet.
bool valid_name(std::string_view n) {
    if (n.empty() || n.size() > 128) return false;
    for (char c : n) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

std::optional<double> leading_number(std::string_view text, std::string_view& unit) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data() || !std::isfinite(value) || value < 0)
        return std::nullopt;
    unit = std::string_view(end, static_cast<std::size_t>(text.data() + text.size() - end));
    return value;
}

std::optional<microseconds> duration_field(const json& j, std::string& error, const char* field) {
    std::optional<microseconds> d;
    if (j.is_string())
        d = parse_duration_us(j.get<std::string>());
    else if (j.is_number() && j.get<double>() >= 0 && j.get<double>() <= 1e9)
        d = microseconds(std::llround(j.get<double>() * 1000));  // a bare number is milliseconds
    if (!d)
        error = std::string("'") + field +
                "' must be a duration such as \"100ms\" or \"2s\", not " + j.dump();
    return d;
}

std::optional<std::uint64_t> count_field(const json& j, std::string& error, const char* field) {
    if (j.is_number_unsigned()) return j.get<std::uint64_t>();
    if (j.is_number_integer() && j.get<std::int64_t>() >= 0)
        return static_cast<std::uint64_t>(j.get<std::int64_t>());
    error = std::string("'") + field + "' must be a non-negative integer, not " + j.dump();
    return std::nullopt;
}

std::optional<bool> bool_field(const json& j, std::string& error, const char* field) {
    if (j.is_boolean()) return j.get<bool>();
    error = std::string("'") + field + "' must be true or false, not " + j.dump();
    return std::nullopt;
}

}  // namespace

std::string_view to_string(Direction d) {
    switch (d) {
        case Direction::upstream:
            return "upstream";
        case Direction::downstream:
            return "downstream";
        case Direction::both:
            return "both";
    }
    return "both";
}

std::optional<Direction> parse_direction(std::string_view s) {
    if (s == "upstream") return Direction::upstream;
    if (s == "downstream") return Direction::downstream;
    if (s == "both") return Direction::both;
    return std::nullopt;
}

std::optional<microseconds> parse_duration_us(std::string_view text) {
    std::string_view unit;
    auto value = leading_number(text, unit);
    if (!value) return std::nullopt;
    double us;
    if (unit == "us")
        us = *value;
    else if (unit.empty() || unit == "ms")
        us = *value * 1e3;
    else if (unit == "s")
        us = *value * 1e6;
    else if (unit == "m")
        us = *value * 60e6;
    else
        return std::nullopt;
    if (us > 1e15) return std::nullopt;
    return microseconds(std::llround(us));
}

std::optional<double> parse_bandwidth(std::string_view text) {
    std::string_view unit;
    auto value = leading_number(text, unit);
    if (!value) return std::nullopt;
    if (unit.size() >= 2 && unit.substr(unit.size() - 2) == "/s") unit.remove_suffix(2);
    double scale;
    if (unit.empty() || unit == "B")
        scale = 1;
    else if (unit == "KB")
        scale = 1e3;
    else if (unit == "KiB")
        scale = 1024;
    else if (unit == "MB")
        scale = 1e6;
    else if (unit == "MiB")
        scale = 1024.0 * 1024;
    else if (unit == "GB")
        scale = 1e9;
    else if (unit == "GiB")
        scale = 1024.0 * 1024 * 1024;
    else
        return std::nullopt;
    const double rate = *value * scale;
    if (rate > 1e15) return std::nullopt;
    return rate;
}

std::string format_duration(microseconds d) {
    const auto us = d.count();
    if (us % 1'000'000 == 0 && us != 0) return std::to_string(us / 1'000'000) + "s";
    if (us % 1000 == 0) return std::to_string(us / 1000) + "ms";
    return std::to_string(us) + "us";
}

json to_json(const Impairment& i) {
    return json{{"name", i.name},
                {"direction", std::string(to_string(i.direction))},
                {"latency", format_duration(i.latency)},
                {"jitter", format_duration(i.jitter)},
                {"bandwidth", i.bandwidth},
                {"stall", i.stall},
                {"reset", i.reset},
                {"slice", i.slice},
                {"slice_delay", format_duration(i.slice_delay)},
                {"limit_data", i.limit_data},
                {"drop_after_frames", i.drop_after_frames},
                {"hold_stream", i.hold_stream}};
}

std::optional<Impairment> impairment_from_json(const json& j, std::string& error) {
    if (!j.is_object()) {
        error = "an impairment must be a JSON object";
        return std::nullopt;
    }
    Impairment i;
    auto name = j.find("name");
    if (name == j.end() || !name->is_string() || !valid_name(name->get<std::string>())) {
        error = "'name' must be a string of 1 to 128 letters, digits, '-', '_' or '.'";
        return std::nullopt;
    }
    i.name = name->get<std::string>();
    for (const auto& [key, v] : j.items()) {
        if (key == "name") continue;
        if (key == "direction") {
            auto d = v.is_string() ? parse_direction(v.get<std::string>()) : std::nullopt;
            if (!d) {
                error =
                    "'direction' must be \"upstream\", \"downstream\" or \"both\", not " + v.dump();
                return std::nullopt;
            }
            i.direction = *d;
        } else if (key == "latency" || key == "jitter" || key == "slice_delay") {
            auto d = duration_field(v, error, key.c_str());
            if (!d) return std::nullopt;
            (key == "latency" ? i.latency : key == "jitter" ? i.jitter : i.slice_delay) = *d;
        } else if (key == "bandwidth") {
            std::optional<double> b;
            if (v.is_number() && v.get<double>() >= 0 && std::isfinite(v.get<double>()))
                b = v.get<double>();
            else if (v.is_string())
                b = parse_bandwidth(v.get<std::string>());
            if (!b) {
                error = "'bandwidth' must be bytes per second or a rate such as \"100KB/s\", not " +
                        v.dump();
                return std::nullopt;
            }
            i.bandwidth = *b;
        } else if (key == "stall" || key == "reset") {
            auto b = bool_field(v, error, key.c_str());
            if (!b) return std::nullopt;
            (key == "stall" ? i.stall : i.reset) = *b;
        } else if (key == "slice" || key == "limit_data" || key == "drop_after_frames") {
            auto n = count_field(v, error, key.c_str());
            if (!n) return std::nullopt;
            if (key == "slice")
                i.slice = static_cast<std::size_t>(*n);
            else if (key == "limit_data")
                i.limit_data = *n;
            else
                i.drop_after_frames = *n;
        } else if (key == "hold_stream") {
            if (!v.is_string()) {
                error = "'hold_stream' must be a channel name, not " + v.dump();
                return std::nullopt;
            }
            i.hold_stream = v.get<std::string>();
        } else {
            error = "unknown field '" + key + "'";
            return std::nullopt;
        }
    }
    return i;
}

}  // namespace streambed::proxy
