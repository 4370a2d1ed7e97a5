// scenario_parse.cpp: the scenario file's top level, its server and simulator sections, and the
// API (parse_scenario, load_scenario). Groups are read in scenario_groups.cpp, the timeline and
// the expectations in scenario_timeline.cpp; every read names its path (scenario_reader.hpp).
#include "runner/scenario_parse.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runner/scenario_reader.hpp"
#include "runner/scenario_values.hpp"
#include "simulator/config.hpp"

namespace streambed::runner {
namespace {

using namespace detail;

constexpr Millis kMaxDuration{24 * 3600 * 1000};

void parse_server(const Value& value, ServerSetup& server) {
    const Object o(value, {"history", "outbound_limit", "inbound_limit", "max_connections",
                           "heartbeat", "deflate", "threads", "send_buffer"});
    // The ranges of `serve`'s options (app/server_runner.cpp).
    if (auto v = o.get("history"))
        server.history = static_cast<std::size_t>(v->integer(1, 10'000'000));
    if (auto v = o.get("outbound_limit"))
        server.outbound_limit = v->size(1024, std::uint64_t{1} << 34);
    if (auto v = o.get("inbound_limit")) server.inbound_limit = v->size(64, std::uint64_t{1} << 30);
    if (auto v = o.get("max_connections"))
        server.max_connections = static_cast<std::size_t>(v->integer(0, 1'000'000));
    if (auto v = o.get("heartbeat")) server.heartbeat = v->duration(Millis(10), kMaxDuration);
    if (auto v = o.get("deflate")) server.deflate = v->boolean();
    if (auto v = o.get("threads")) server.threads = static_cast<unsigned>(v->integer(0, 256));
    if (auto v = o.get("send_buffer")) server.send_buffer = v->size(0, std::uint64_t{1} << 30);
}

// simulator::parse_config's message for one field, without the field's own name (the path says it).
std::string config_message(const std::string& what, const std::string& field) {
    const std::string quoted = "'" + field + "' ";
    if (what.rfind(quoted, 0) == 0) return what.substr(quoted.size());
    return what;
}

// Each field is checked on its own by simulator::parse_config, so that an error names its path.
std::string parse_simulator(const Value& value) {
    static const std::vector<std::string_view> kFields = {
        "epochMs",         "channels",     "validators",      "txPerSecond",
        "blockIntervalMs", "firstBlockMs", "stateIntervalMs", "episodes"};
    static const std::vector<std::string_view> kEpisodes = {"validatorOffline", "validatorJailed",
                                                            "failedRound", "networkDegradation",
                                                            "networkPartition"};
    if (value.json().is_object() && value.json().contains("seed"))
        fail_at(join_path(value.path(), "seed"),
                "the seed is set at the top level of the scenario (\"seed\": 42), where --seed "
                "overrides it");
    const Object o(value, kFields);
    auto check = [](const Json& config, const std::string& path, const std::string& field) {
        try {
            (void)simulator::parse_config(config.dump());
        } catch (const simulator::ConfigError& e) {
            fail_at(path, config_message(e.what(), field));
        }
    };
    for (const auto& key : o.keys()) {
        const Value v = *o.get(key);
        if (key != "episodes") {
            check(Json{{key, v.json()}}, v.path(), key);
            continue;
        }
        const Object episodes(v, kEpisodes);
        for (const auto& name : episodes.keys())
            check(Json{{"episodes", Json{{name, v.json()[name]}}}}, join_path(v.path(), name),
                  "episodes." + name);
    }
    try {
        (void)simulator::parse_config(value.json().dump());
    } catch (const simulator::ConfigError& e) {
        fail_at(value.path(), e.what());
    }
    // Canonical: keys sorted, numbers as nlohmann writes them.
    return nlohmann::json::parse(value.json().dump()).dump();
}

Scenario build(const Json& root) {
    if (!root.is_object())
        fail_at("", fmt::format("a scenario is a JSON object {{ \"name\": …, \"duration\": …, "
                                "\"groups\": […] }}, not {}",
                                root.is_array() ? "an array" : "a single value"));
    const Object o(Value(root, ""),
                   {"name", "description", "seed", "duration", "time_scale", "server", "cluster",
                    "simulator", "groups", "timeline", "expect"});
    Scenario s;
    const Value name = o.require("name");
    s.name = name.string();
    if (!is_name(s.name, 64))
        name.fail(fmt::format("'{}' is not a scenario name: 1 to 64 of A-Z a-z 0-9 _ -", s.name));
    if (auto v = o.get("description")) s.description = v->string();
    if (auto v = o.get("seed")) s.seed = v->unsigned_integer();
    s.duration = o.require("duration").duration(Millis(1), kMaxDuration);
    if (auto v = o.get("time_scale")) {
        // `serve --time-scale max` runs the world unpaced: it would be over before the fleet
        // connected, with no instant for the timeline's events nor for lateness to be measured
        // against. A scenario's world is paced; compression is a large number.
        if (v->json().is_string() && v->json().get<std::string>() == "max")
            v->fail(
                "\"max\" is not a scenario's time scale: a timeline and lateness need a paced "
                "world; use a "
                "number of simulated ms per wall ms (the library runs at 20; as high as this "
                "machine keeps up)");
        s.time_scale = v->number(0, 1e6, /*lo_open=*/true);
    }
    if (auto v = o.get("server")) parse_server(*v, s.server);
    if (auto v = o.get("cluster")) parse_cluster(*v, s);
    if (auto v = o.get("simulator")) s.simulator_json = parse_simulator(*v);
    parse_groups(o.require("groups"), s);
    if (auto v = o.get("timeline")) parse_timeline(*v, s);
    if (auto v = o.get("expect")) parse_expectations(*v, s);
    return s;
}

}  // namespace

ParseResult parse_scenario(std::string_view text) {
    try {
        return {build(parse_json(text)), {}};
    } catch (const ScenarioError& e) {
        return {std::nullopt, e.message};
    } catch (const std::exception& e) {  // not expected: a gap in the checks above
        return {std::nullopt,
                fmt::format("internal error while reading the scenario: {}", e.what())};
    }
}

ParseResult load_scenario(const std::string& path) {
    std::string text;
    try {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec))
            return {std::nullopt, path + ": cannot read the file: it is a directory"};
        std::ifstream in(path, std::ios::binary);
        if (!in)
            return {std::nullopt,
                    fmt::format("{}: cannot read the file: {}", path, std::strerror(errno))};
        std::ostringstream ss;
        ss << in.rdbuf();
        if (in.bad()) return {std::nullopt, path + ": cannot read the file: read error"};
        text = std::move(ss).str();
    } catch (const std::exception& e) {
        return {std::nullopt, fmt::format("{}: cannot read the file: {}", path, e.what())};
    }
    ParseResult r = parse_scenario(text);
    if (!r.scenario) r.error = path + ": " + r.error;
    return r;
}

}  // namespace streambed::runner
