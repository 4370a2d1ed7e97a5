// scenario_reader.cpp: JSON values with their paths and checked reads, for the scenario parser
// (see scenario_reader.hpp).
#include "runner/scenario_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "runner/scenario_values.hpp"

namespace streambed::runner::detail {
namespace {

std::string type_name(const Json& j) {
    if (j.is_null()) return "null";
    if (j.is_boolean()) return "a boolean";
    if (j.is_number_integer()) return "an integer";
    if (j.is_number()) return "a number";
    if (j.is_string()) return "a string";
    if (j.is_array()) return "an array";
    return "an object";
}

// The line and column (from 1) of the byte at `index`, as an editor counts them.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t index) {
    index = std::min(index, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < index; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xC0) !=
                   0x80) {  // UTF-8 continuation bytes
            ++column;
        }
    }
    return {line, column};
}

// Follows the parser's events to know the path of every key, so that a repeated field is named.
struct DuplicateFinder {
    struct Frame {
        bool object;
        std::set<std::string> keys;
        std::string key;
        std::size_t index = 0;
    };
    std::vector<Frame> frames;
    std::string duplicate;  // the path of the first repeated field

    std::string path() const {
        std::string p;
        for (const auto& f : frames) p = f.object ? join_path(p, f.key) : index_path(p, f.index);
        return p;
    }
    void element_done() {
        if (!frames.empty() && !frames.back().object) ++frames.back().index;
    }
    bool operator()(int, nlohmann::detail::parse_event_t event, Json& parsed) {
        using E = nlohmann::detail::parse_event_t;
        switch (event) {
            case E::object_start:
                frames.push_back({true, {}, {}, 0});
                break;
            case E::array_start:
                frames.push_back({false, {}, {}, 0});
                break;
            case E::key:
                frames.back().key = parsed.get<std::string>();
                if (!frames.back().keys.insert(frames.back().key).second && duplicate.empty())
                    duplicate = path();
                break;
            case E::object_end:
            case E::array_end:
                frames.pop_back();
                element_done();
                break;
            case E::value:
                element_done();
                break;
        }
        return true;
    }
};

}  // namespace

void fail_at(const std::string& path, std::string_view what) {
    throw ScenarioError{path.empty() ? std::string(what) : fmt::format("{}: {}", path, what)};
}

std::string join_path(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

std::string index_path(const std::string& parent, std::size_t index) {
    return fmt::format("{}[{}]", parent, index);
}

Json parse_json(std::string_view text) {
    DuplicateFinder finder;
    Json j;
    try {
        j = Json::parse(text, std::ref(finder), true, /*ignore_comments=*/true);
    } catch (const Json::parse_error& e) {
        // e.byte counts the bytes read, the offending one included (one past the end at EOF).
        const auto [line, column] = line_column(text, e.byte == 0 ? 0 : e.byte - 1);
        std::string detail = e.what();
        if (const auto dash = detail.find(" - "); dash != std::string::npos)
            detail = detail.substr(dash + 3);
        else if (const auto colon = detail.find(": "); colon != std::string::npos)
            detail = detail.substr(colon + 2);
        throw ScenarioError{
            fmt::format("line {}, column {}: syntax error: {}", line, column, detail)};
    } catch (const Json::out_of_range& e) {
        // A number no double holds (1e999): the message quotes it as written, which finds it.
        std::string number = e.what();
        const auto open = number.find('\''), close = number.rfind('\'');
        number = open < close ? number.substr(open + 1, close - open - 1) : std::string();
        const auto at = number.empty() ? std::string_view::npos : text.find(number);
        const auto [line, column] = line_column(text, at == std::string_view::npos ? 0 : at);
        if (number.size() > 40) number = number.substr(0, 37) + "...";
        throw ScenarioError{
            fmt::format("line {}, column {}: the number {} is out of range", line, column, number)};
    }
    if (!finder.duplicate.empty()) fail_at(finder.duplicate, "given twice in the same object");
    return j;
}

std::string Value::describe() const {
    std::string s = json_->dump(-1, ' ', false, Json::error_handler_t::replace);
    if (s.size() > 40) s = s.substr(0, 37) + "...";
    return s;
}

bool Value::boolean() const {
    if (!json_->is_boolean()) fail(fmt::format("expected true or false, not {}", describe()));
    return json_->get<bool>();
}

std::string Value::string() const {
    if (!json_->is_string()) fail(fmt::format("expected a string, not {}", type_name(*json_)));
    return json_->get<std::string>();
}

std::int64_t Value::integer(std::int64_t lo, std::int64_t hi) const {
    if (!json_->is_number_integer())
        fail(fmt::format("expected an integer between {} and {}, not {}", lo, hi, describe()));
    // nlohmann stores non-negative integers as unsigned, negative ones as signed.
    const bool in_range =
        json_->is_number_unsigned()
            ? json_->get<std::uint64_t>() <= static_cast<std::uint64_t>(hi) &&
                  (lo <= 0 || json_->get<std::uint64_t>() >= static_cast<std::uint64_t>(lo))
            : json_->get<std::int64_t>() >= lo && json_->get<std::int64_t>() <= hi;
    if (!in_range) fail(fmt::format("must be between {} and {}, not {}", lo, hi, describe()));
    return json_->get<std::int64_t>();
}

std::uint64_t Value::unsigned_integer() const {
    if (json_->is_number_unsigned()) return json_->get<std::uint64_t>();
    if (json_->is_number_integer()) fail(fmt::format("must not be negative, not {}", describe()));
    fail(fmt::format("expected a non-negative integer, not {}", describe()));
}

double Value::number(double lo, double hi, bool lo_open) const {
    if (!json_->is_number()) fail(fmt::format("expected a number, not {}", describe()));
    const double v = json_->get<double>();
    if (lo_open ? !(v > lo) : !(v >= lo))
        fail(fmt::format("must be {} {}, not {}", lo_open ? "more than" : "at least", lo,
                         describe()));
    if (!(v <= hi)) fail(fmt::format("must be at most {}, not {}", hi, describe()));
    return v;
}

Millis Value::duration(Millis lo, Millis hi) const {
    static constexpr const char* kForm =
        "a number and a unit (ms, s, m or h), such as \"500ms\", \"10s\", \"1.5s\", \"2m\"";
    if (json_->is_number())
        fail(fmt::format(
            "expected a duration with a unit, such as \"{}s\" (a bare number has no unit)",
            describe()));
    if (!json_->is_string())
        fail(fmt::format("expected a duration: {}; not {}", kForm, type_name(*json_)));
    const auto text = json_->get<std::string>();
    const auto d = parse_duration_text(text);
    if (!d) fail(fmt::format("'{}' is not a duration: expected {}", text, kForm));
    if (d->count() < 0) fail(fmt::format("must not be negative, not '{}'", text));
    if (*d < lo)
        fail(lo.count() == 1
                 ? fmt::format("must be more than 0, not '{}'", text)
                 : fmt::format("must be at least {}, not '{}'", format_duration(lo), text));
    if (*d > hi) fail(fmt::format("must be at most {}, not '{}'", format_duration(hi), text));
    return *d;
}

std::uint64_t Value::size(std::uint64_t lo, std::uint64_t hi) const {
    std::uint64_t bytes = 0;
    if (json_->is_number_integer()) {
        if (!json_->is_number_unsigned())
            fail(fmt::format("must not be negative, not {}", describe()));
        bytes = json_->get<std::uint64_t>();
    } else if (json_->is_string()) {
        const auto text = json_->get<std::string>();
        const auto parsed = parse_size_text(text);
        if (!parsed)
            fail(fmt::format(
                "'{}' is not a size: expected a number and a unit (B, KB, MB, GB, KiB, MiB, GiB), "
                "such as \"64KiB\", or an integer number of bytes",
                text));
        bytes = *parsed;
    } else {
        fail(fmt::format("expected a size such as \"64KiB\" or an integer number of bytes, not {}",
                         describe()));
    }
    if (bytes < lo || bytes > hi)
        fail(fmt::format("must be between {} and {} bytes, not {}", lo, hi, describe()));
    return bytes;
}

double Value::rate() const {
    double v = 0;
    if (json_->is_number()) {
        v = json_->get<double>();
    } else if (json_->is_string()) {
        const auto parsed = parse_rate_text(json_->get<std::string>());
        if (!parsed)
            fail(fmt::format(
                "{} is not a rate: expected a size per second such as \"100KB/s\", \"1MB/s\", "
                "\"512B/s\", or a number of bytes per second",
                describe()));
        v = *parsed;
    } else {
        fail(fmt::format(
            "expected a rate such as \"100KB/s\" or a number of bytes per second, not {}",
            describe()));
    }
    if (!(v > 0)) fail(fmt::format("must be more than 0 bytes per second, not {}", describe()));
    if (v > 1e12) fail(fmt::format("must be at most 1TB/s, not {}", describe()));
    return v;
}

std::vector<Value> Value::elements(std::size_t min, std::size_t max) const {
    if (!json_->is_array()) fail(fmt::format("expected an array, not {}", type_name(*json_)));
    if (json_->size() < min || json_->size() > max)
        fail(min == max ? fmt::format("must hold {} elements, not {}", min, json_->size())
             : json_->size() < min
                 ? fmt::format("must hold at least {} element{}", min, min == 1 ? "" : "s")
                 : fmt::format("must hold at most {} elements, not {}", max, json_->size()));
    std::vector<Value> out;
    out.reserve(json_->size());
    for (std::size_t i = 0; i < json_->size(); ++i)
        out.emplace_back((*json_)[i], index_path(path_, i));
    return out;
}

Object::Object(const Value& value, std::vector<std::string_view> known, std::string_view owner,
               const std::vector<std::string_view>& elsewhere)
    : value_(value), known_(std::move(known)) {
    if (!value.json().is_object())
        value.fail(fmt::format("expected an object {{ … }}, not {}", type_name(value.json())));
    for (const auto& [key, v] : value.json().items()) {
        if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
        const std::string path = join_path(value.path(), key);
        if (std::find(elsewhere.begin(), elsewhere.end(), key) != elsewhere.end())
            fail_at(path, fmt::format("not a field of {} (it takes: {})", owner,
                                      fmt::join(known_, ", ")));
        const std::string near = nearest_name(key, known_);
        if (!near.empty()) fail_at(path, fmt::format("unknown field (did you mean '{}'?)", near));
        fail_at(path, fmt::format("unknown field (expected one of: {})", fmt::join(known_, ", ")));
    }
}

bool Object::has(std::string_view key) const {
    return value_.json().contains(key);
}

std::optional<Value> Object::get(std::string_view key) const {
    const auto it = value_.json().find(key);
    if (it == value_.json().end()) return std::nullopt;
    return Value(*it, join_path(value_.path(), key));
}

Value Object::require(std::string_view key) const {
    auto v = get(key);
    if (!v) fail_at(join_path(value_.path(), key), "missing (a required field)");
    return *v;
}

std::vector<std::string> Object::keys() const {
    std::vector<std::string> out;
    for (const auto& [key, v] : value_.json().items()) out.push_back(key);
    return out;
}

}  // namespace streambed::runner::detail
