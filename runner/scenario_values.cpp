// scenario_values.cpp: the value syntaxes of scenario files (see scenario_values.hpp).
#include "runner/scenario_values.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace streambed::runner {
namespace {

// A decimal number at the start of `text` (an optional '-', digits, an optional fraction; no
// exponent, no "inf"); `rest` is what follows it.
std::optional<double> leading_number(std::string_view text, std::string_view& rest) {
    std::size_t i = 0;
    if (i < text.size() && text[i] == '-') ++i;
    const std::size_t digits_start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t digits = i - digits_start;
    if (i < text.size() && text[i] == '.') {
        ++i;
        const std::size_t frac_start = i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
        if (i == frac_start) return std::nullopt;  // "1." is not a number here
        digits += i - frac_start;
    }
    if (digits == 0) return std::nullopt;
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + i, value);
    if (ec != std::errc() || end != text.data() + i || !std::isfinite(value)) return std::nullopt;
    rest = text.substr(i);
    return value;
}

std::optional<double> size_unit(std::string_view unit) {
    if (unit == "B") return 1.0;
    if (unit == "KB") return 1e3;
    if (unit == "MB") return 1e6;
    if (unit == "GB") return 1e9;
    if (unit == "KiB") return 1024.0;
    if (unit == "MiB") return 1024.0 * 1024;
    if (unit == "GiB") return 1024.0 * 1024 * 1024;
    return std::nullopt;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions.
std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

}  // namespace

std::optional<Millis> parse_duration_text(std::string_view text) {
    std::string_view unit;
    const auto value = leading_number(text, unit);
    if (!value) return std::nullopt;
    double ms;
    if (unit == "ms")
        ms = *value;
    else if (unit == "s")
        ms = *value * 1e3;
    else if (unit == "m")
        ms = *value * 60e3;
    else if (unit == "h")
        ms = *value * 3600e3;
    else
        return std::nullopt;
    if (std::fabs(ms) > 1e15) return std::nullopt;
    return Millis(static_cast<long long>(std::llround(ms)));
}

std::optional<std::uint64_t> parse_size_text(std::string_view text) {
    std::string_view unit;
    const auto value = leading_number(text, unit);
    const auto scale = size_unit(unit);
    if (!value || !scale || *value < 0) return std::nullopt;
    const double bytes = std::round(*value * *scale);
    if (bytes > 9007199254740992.0) return std::nullopt;
    return static_cast<std::uint64_t>(bytes);
}

std::optional<double> parse_rate_text(std::string_view text) {
    if (text.size() < 2 || text.substr(text.size() - 2) != "/s") return std::nullopt;
    std::string_view unit;
    const auto value = leading_number(text.substr(0, text.size() - 2), unit);
    const auto scale = size_unit(unit);
    if (!value || !scale || *value < 0) return std::nullopt;
    return *value * *scale;
}

ThresholdParse parse_threshold(std::string_view text, MetricKind kind) {
    ThresholdParse r;
    std::string_view s = trim(text);
    using Op = Expectation::Op;
    static constexpr std::pair<std::string_view, Op> ops[] = {
        {"<=", Op::le}, {">=", Op::ge}, {"==", Op::eq}, {"<", Op::lt}, {">", Op::gt}};
    bool found = false;
    for (const auto& [symbol, op] : ops)
        if (s.substr(0, symbol.size()) == symbol) {
            r.op = op;
            s = trim(s.substr(symbol.size()));
            found = true;
            break;
        }
    const char* example = kind == MetricKind::ratio      ? "\">= 0.999\" or \">= 99.9%\""
                          : kind == MetricKind::duration ? "\"< 100ms\""
                          : kind == MetricKind::size     ? "\"< 256MB\""
                                                         : "\"== 0\"";
    if (!found) {
        r.error = fmt::format(
            "expected a threshold: an operator (<, <=, >, >=, ==) and a value, such as {}",
            example);
        return r;
    }
    std::string_view unit;
    const auto value = leading_number(s, unit);
    if (!value) {
        r.error = fmt::format("'{}' is not a number after '{}' (expected e.g. {})", s,
                              op_text(r.op), example);
        return r;
    }
    if (*value < 0) {
        r.error = fmt::format("the value must not be negative (expected e.g. {})", example);
        return r;
    }
    switch (kind) {
        case MetricKind::duration: {
            if (unit.empty()) {
                r.error = fmt::format("'{}' has no unit: a duration takes ms, s or m (e.g. {})", s,
                                      example);
                return r;
            }
            const double factor = unit == "ms" ? 1 : unit == "s" ? 1e3 : unit == "m" ? 60e3 : 0;
            if (factor == 0) {
                r.error = fmt::format("unknown unit '{}': a duration takes ms, s or m (e.g. {})",
                                      unit, example);
                return r;
            }
            r.value = *value * factor;
            return r;
        }
        case MetricKind::size: {
            const auto scale = size_unit(unit);
            if (!scale) {
                r.error = fmt::format("{} '{}': a size takes KB, MB, GB, KiB, MiB or GiB (e.g. {})",
                                      unit.empty() ? "no unit in" : "unknown unit in", s, example);
                return r;
            }
            r.value = *value * *scale / 1e6;
            return r;
        }
        case MetricKind::ratio: {
            double v = *value;
            if (unit == "%")
                v /= 100;
            else if (!unit.empty()) {
                r.error = fmt::format("'{}': a ratio is a fraction or a percentage (e.g. {})", s,
                                      example);
                return r;
            }
            if (v > 1) {
                r.error = fmt::format("'{}': a ratio is at most 1 (100%)", s);
                return r;
            }
            r.value = v;
            return r;
        }
        case MetricKind::count:
        case MetricKind::boolean: {
            if (!unit.empty() || s.find('.') != std::string_view::npos) {
                r.error =
                    fmt::format("'{}': a count is a non-negative integer (e.g. {})", s, example);
                return r;
            }
            r.value = *value;
            return r;
        }
    }
    return r;
}

std::string_view op_text(Expectation::Op op) {
    switch (op) {
        case Expectation::Op::lt:
            return "<";
        case Expectation::Op::le:
            return "<=";
        case Expectation::Op::gt:
            return ">";
        case Expectation::Op::ge:
            return ">=";
        case Expectation::Op::eq:
            return "==";
    }
    return "?";
}

bool is_name(std::string_view text, std::size_t max) {
    if (text.empty() || text.size() > max) return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

bool is_channel_id(std::string_view text) {
    if (text.empty() || text.size() > 64) return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' ||
               c == '-';
    });
}

std::string format_duration(Millis d) {
    const long long ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
    if (ms < 1000 && ms > -1000) return fmt::format("{}ms", ms);
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
    std::string s = fmt::format("{:.3f}", static_cast<double>(ms) / 1000);
    while (s.back() == '0') s.pop_back();
    return s + "s";
}

std::string nearest_name(std::string_view word, const std::vector<std::string_view>& candidates) {
    const std::string w = lower(word);
    std::string best;
    std::size_t best_distance = SIZE_MAX;
    for (const auto& c : candidates) {
        const std::size_t d = edit_distance(w, lower(c));
        if (d < best_distance) {
            best_distance = d;
            best = std::string(c);
        }
    }
    const std::size_t allowed = w.size() <= 4 ? 1 : w.size() <= 8 ? 2 : 3;
    return best_distance <= allowed ? best : std::string();
}

}  // namespace streambed::runner
