// scenario_reader.hpp: internal to the scenario parser. A JSON value together with its path in
// the file ("groups[1].reading.bytes_per_second"), typed reads that check type and range, and
// objects that refuse unknown fields with the nearest known name. A failed read throws
// ScenarioError, which parse_scenario catches: nothing here escapes the parser's API.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runner/scenario.hpp"

namespace streambed::runner::detail {

using Json = nlohmann::ordered_json;

struct ScenarioError {
    std::string message;
};

// Throws ScenarioError "PATH: WHAT" (just WHAT when the path is empty).
[[noreturn]] void fail_at(const std::string& path, std::string_view what);

// The JSON text, parsed with comments allowed. A syntax error (a truncated file is one) is
// reported as "line L, column C: syntax error: …"; a field given twice in one object names its
// path.
Json parse_json(std::string_view text);

class Value {
  public:
    Value(const Json& json, std::string path) : json_(&json), path_(std::move(path)) {}
    const Json& json() const { return *json_; }
    const std::string& path() const { return path_; }
    [[noreturn]] void fail(std::string_view what) const { fail_at(path_, what); }

    bool boolean() const;
    std::string string() const;
    std::int64_t integer(std::int64_t lo, std::int64_t hi) const;
    std::uint64_t unsigned_integer() const;  // 0 … 2^64 - 1
    // A number in [lo, hi], or in (lo, hi] when lo_open.
    double number(double lo, double hi, bool lo_open = false) const;
    // A string with a unit ("500ms"), in [lo, hi]; "must be more than 0" when lo is 1ms.
    Millis duration(Millis lo, Millis hi) const;
    // A size string ("64KiB") or an integer number of bytes, in [lo, hi].
    std::uint64_t size(std::uint64_t lo, std::uint64_t hi) const;
    // Bytes per second, > 0: a rate string ("100KB/s") or a number.
    double rate() const;
    // The elements of an array of min … max elements, with their paths.
    std::vector<Value> elements(std::size_t min, std::size_t max) const;

    std::string describe() const;  // the value as written, shortened, for messages

  private:
    const Json* json_;
    std::string path_;
};

// An object whose fields must all be among `known`. An unknown field fails naming its path and
// the nearest known name; a field of `elsewhere` (known in a sibling form, e.g. another event
// kind) fails as "not a field of OWNER".
class Object {
  public:
    Object(const Value& value, std::vector<std::string_view> known, std::string_view owner = {},
           const std::vector<std::string_view>& elsewhere = {});
    const Value& self() const { return value_; }
    bool has(std::string_view key) const;
    std::optional<Value> get(std::string_view key) const;
    Value require(std::string_view key) const;  // "PATH.key: missing (required)"
    std::vector<std::string> keys() const;      // in file order

  private:
    Value value_;
    std::vector<std::string_view> known_;
};

std::string join_path(const std::string& parent, std::string_view key);
std::string index_path(const std::string& parent, std::size_t index);

// The parts of the parse that live in other files.
void parse_groups(const Value& value, Scenario& scenario);        // scenario_groups.cpp
void parse_timeline(const Value& value, Scenario& scenario);      // scenario_timeline.cpp
void parse_expectations(const Value& value, Scenario& scenario);  // scenario_timeline.cpp
// scenario_cluster.cpp: the `cluster` section; a node reference (an index, or "source" where
// `source_allowed`), refused without a cluster; the checks between the cluster's events.
void parse_cluster(const Value& value, Scenario& scenario);
int parse_node(const Value& value, const Scenario& scenario, bool source_allowed);
bool is_cluster_event(Event::Kind kind);
using IndexedEvent = std::pair<const Event*, std::size_t>;  // an event and its index in the file
void check_cluster_sequence(const std::vector<IndexedEvent>& sorted, const Scenario& scenario);
// "PATH: no group named 'x' (did you mean 'y'?)" unless a group has that name.
void check_group_exists(const Value& name_value, const std::string& name, const Scenario& scenario);

}  // namespace streambed::runner::detail
