// scenario_parse_test.cpp: the scenario file format — a full example read into the model,
// defaults, comments, durations, loading by path, and every file of the scenario library
// (scenarios/*.json) accepted. Errors: scenario_errors_test.cpp; robustness and the docs:
// scenario_robustness_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runner/scenario_parse.hpp"
#include "runner/scenario_values.hpp"
#include "tests/runner/scenario_text.hpp"

#ifndef STREAMBED_SOURCE_DIR
#error "STREAMBED_SOURCE_DIR must name the repository root"
#endif

namespace streambed::runner {
namespace {

using namespace std::chrono_literals;

const char* kFull = R"(// a full scenario
{
  "name": "partition-resume",
  "description": "a partition, then resume",
  "seed": 7,
  "duration": "1m",
  "time_scale": 20,
  "server": {"history": 5000, "outbound_limit": "256KiB", "inbound_limit": 4096, "max_connections": 50,
             "heartbeat": "5s", "deflate": true, "threads": 2},
  "simulator": {"txPerSecond": 10, "channels": 3, "episodes": {"failedRound": 0.1}},
  /* two groups */
  "groups": [
    {"name": "portal", "clients": 100, "ramp_up": "2s", "endpoint": "/ws/channels", "subscribe": ["ch-1", "*"],
     "batch": true, "deflate": true, "reading": {"mode": "slow", "bytes_per_second": "2KB/s"},
     "reconnect": {"min": "250ms", "max": "10s"}, "resume": false, "polling_fallback": true, "poll_interval": "2s"},
    {"name": "late", "endpoint": "/ws/metrics", "reading": {"mode": "pausing", "every": "10s", "pause": "1.5s"},
     "reconnect": false, "misbehave": {"kind": "oversized", "bytes": "128KiB"}},
    {"name": "bad", "endpoint": "/ws/transactions", "subscribe": ["ch-2"], "reading": "never",
     "misbehave": {"kind": "flood", "per_second": 200}}
  ],
  "timeline": [
    {"at": "50s", "event": "leave", "group": "late"},
    {"at": "10s", "event": "impair", "group": "portal", "name": "slow-net", "direction": "downstream",
     "latency": "100ms", "jitter": "20ms", "bandwidth": "100KB/s", "for": "20s"},
    {"at": "20s", "event": "join", "group": "late"},
    {"at": "20s", "event": "partition", "group": "portal", "for": "8s"},
    {"at": "30s", "event": "clear", "group": "portal", "name": "slow-net"},
    {"at": "40s", "event": "server_kill", "down_for": "2s"},
    {"at": "45s", "event": "server_restart"},
    {"at": "50s", "event": "churn", "group": "portal", "fraction": 0.25},
    {"at": "5s", "event": "impair", "reset": true}
  ],
  "expect": [
    {"group": "portal", "delivery_ratio": ">= 99.9%", "gaps": "== 0", "lateness_p99": "<100ms"},
    {"lateness_max": "< 1.5s", "reconnect_max": "<= 2m"},
    {"group": "portal", "at": "30s", "connected": ">= 100"},
    {"server_rss": "< 256MiB"}, {"recording_complete": true}
  ]
}
)";

TEST(ScenarioParse, FullExample) {
    const Scenario s = parse_ok(kFull);
    EXPECT_EQ(s.name, "partition-resume");
    EXPECT_EQ(s.description, "a partition, then resume");
    EXPECT_EQ(s.seed, 7u);
    EXPECT_EQ(s.duration, 60s);
    EXPECT_EQ(s.time_scale, 20);
    EXPECT_EQ(s.server.history, 5000u);
    EXPECT_EQ(s.server.outbound_limit, 256u * 1024);
    EXPECT_EQ(s.server.inbound_limit, 4096u);
    EXPECT_EQ(s.server.max_connections, 50u);
    EXPECT_EQ(s.server.heartbeat, 5s);
    EXPECT_TRUE(s.server.deflate);
    EXPECT_EQ(s.server.threads, 2u);
    EXPECT_EQ(s.simulator_json,
              R"({"channels":3,"episodes":{"failedRound":0.1},"txPerSecond":10})");

    ASSERT_EQ(s.groups.size(), 3u);
    const ClientGroup& p = s.groups[0];
    EXPECT_EQ(p.name, "portal");
    EXPECT_EQ(p.clients, 100u);
    EXPECT_EQ(p.ramp_up, 2s);
    EXPECT_EQ(p.endpoint, "/ws/channels");
    EXPECT_EQ(p.subscribe, (std::vector<std::string>{"ch-1", "*"}));
    EXPECT_TRUE(p.batch);
    EXPECT_TRUE(p.deflate);
    EXPECT_EQ(p.reading.mode, Reading::Mode::slow);
    EXPECT_EQ(p.reading.bytes_per_second, 2000);
    EXPECT_TRUE(p.reconnect.enabled);
    EXPECT_EQ(p.reconnect.min, 250ms);
    EXPECT_EQ(p.reconnect.max, 10s);
    EXPECT_FALSE(p.resume);
    EXPECT_TRUE(p.polling_fallback);
    EXPECT_EQ(p.poll_interval, 2s);
    EXPECT_EQ(p.misbehave.kind, Misbehaviour::Kind::none);
    EXPECT_TRUE(p.starts_joined);

    const ClientGroup& late = s.groups[1];
    EXPECT_EQ(late.clients, 1u);
    EXPECT_TRUE(late.subscribe.empty());
    EXPECT_EQ(late.reading.mode, Reading::Mode::pausing);
    EXPECT_EQ(late.reading.every, 10s);
    EXPECT_EQ(late.reading.pause, 1500ms);
    EXPECT_FALSE(late.reconnect.enabled);
    EXPECT_EQ(late.misbehave.kind, Misbehaviour::Kind::oversized);
    EXPECT_EQ(late.misbehave.bytes, 128u * 1024);
    EXPECT_FALSE(late.starts_joined);  // it has a join event
    EXPECT_EQ(s.groups[2].reading.mode, Reading::Mode::never);
    EXPECT_EQ(s.groups[2].misbehave.kind, Misbehaviour::Kind::flood);
    EXPECT_EQ(s.groups[2].misbehave.per_second, 200);

    // Sorted by `at`, stable: of the two at 20s the join comes first as in the file.
    ASSERT_EQ(s.timeline.size(), 9u);
    std::vector<Event::Kind> kinds;
    for (const auto& e : s.timeline) kinds.push_back(e.kind);
    using K = Event::Kind;
    EXPECT_EQ(kinds, (std::vector<K>{K::impair, K::impair, K::join, K::partition, K::clear,
                                     K::server_kill, K::server_restart, K::leave, K::churn}));
    EXPECT_EQ(s.timeline[0].at, 5s);
    EXPECT_TRUE(s.timeline[0].impairment.reset);
    EXPECT_EQ(s.timeline[0].name, "impair-8");  // the default name: its index in the file
    EXPECT_EQ(s.timeline[0].group, "");
    const Event& slow = s.timeline[1];
    EXPECT_EQ(slow.name, "slow-net");
    EXPECT_EQ(slow.group, "portal");
    EXPECT_EQ(slow.impairment.direction, Impairment::Direction::downstream);
    EXPECT_EQ(slow.impairment.latency, 100ms);
    EXPECT_EQ(slow.impairment.jitter, 20ms);
    EXPECT_EQ(slow.impairment.bandwidth, 100'000);
    EXPECT_EQ(slow.duration, 20s);
    EXPECT_EQ(s.timeline[3].duration, 8s);
    EXPECT_EQ(s.timeline[4].name, "slow-net");
    EXPECT_EQ(s.timeline[5].down_for, 2s);
    EXPECT_EQ(s.timeline[6].down_for, 0s);
    EXPECT_EQ(s.timeline[8].fraction, 0.25);

    ASSERT_EQ(s.expectations.size(), 8u);
    const auto& e = s.expectations;
    EXPECT_EQ(e[0].group, "portal");
    EXPECT_EQ(e[0].metric, "delivery_ratio");
    EXPECT_EQ(e[0].op, Expectation::Op::ge);
    EXPECT_DOUBLE_EQ(e[0].threshold, 0.999);
    EXPECT_EQ(e[0].text, ">= 99.9%");
    EXPECT_EQ(e[1].metric, "gaps");
    EXPECT_EQ(e[1].op, Expectation::Op::eq);
    EXPECT_EQ(e[1].threshold, 0);
    EXPECT_EQ(e[2].metric, "lateness_p99");
    EXPECT_EQ(e[2].op, Expectation::Op::lt);
    EXPECT_EQ(e[2].threshold, 100);  // ms
    EXPECT_EQ(e[2].text, "<100ms");
    EXPECT_EQ(e[3].group, "");
    EXPECT_EQ(e[3].threshold, 1500);
    EXPECT_EQ(e[4].op, Expectation::Op::le);
    EXPECT_EQ(e[4].threshold, 120000);
    EXPECT_EQ(e[5].metric, "connected");
    ASSERT_TRUE(e[5].at);
    EXPECT_EQ(*e[5].at, 30s);
    EXPECT_EQ(e[5].threshold, 100);
    EXPECT_FALSE(e[0].at);
    EXPECT_EQ(e[6].metric, "server_rss");
    EXPECT_DOUBLE_EQ(e[6].threshold, 256.0 * 1024 * 1024 / 1e6);  // MB of 10^6 bytes
    EXPECT_EQ(e[7].metric, "recording_complete");
    EXPECT_EQ(e[7].op, Expectation::Op::eq);
    EXPECT_EQ(e[7].threshold, 1);
    EXPECT_EQ(e[7].text, "true");
}

TEST(ScenarioParse, Defaults) {
    const Scenario s = parse_ok(minimal());
    EXPECT_EQ(s.seed, 42u);
    EXPECT_EQ(s.time_scale, 1);
    EXPECT_EQ(s.simulator_json, "{}");
    EXPECT_EQ(s.groups[0].clients, 1u);
    EXPECT_EQ(s.groups[0].endpoint, "/ws/metrics");
    EXPECT_EQ(s.groups[0].reconnect.min, 500ms);
    EXPECT_TRUE(s.timeline.empty());
    EXPECT_TRUE(s.expectations.empty());
}

TEST(ScenarioParse, CommentsAreAccepted) {
    parse_ok(
        "// leading\n{ /* inline */ \"name\": \"t\", // trailing\n \"duration\": \"1h\",\n"
        "\"groups\": [{\"name\": \"g\"} /* end */]}\n// after\n");
}

TEST(ScenarioParse, Durations) {
    expect_error(
        R"({"name": "t", "duration": "10 seconds", "groups": [{"name": "g"}]})",
        "duration: '10 seconds' is not a duration: expected a number and a unit (ms, s, m or h)");
    expect_error(R"({"name": "t", "duration": 60, "groups": [{"name": "g"}]})",
                 "duration: expected a duration with a unit, such as \"60s\"");
    expect_error(R"({"name": "t", "duration": "0s", "groups": [{"name": "g"}]})",
                 "duration: must be more than 0");
    expect_error(R"({"name": "t", "duration": "25h", "groups": [{"name": "g"}]})",
                 "duration: must be at most 24h");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "partition", "for": "-5s"}])"),
                 "timeline[0].for: must not be negative, not '-5s'");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "partition", "for": "0ms"}])"),
                 "timeline[0].for: must be more than 0");
    expect_error(minimal("", R"("reconnect": {"min": "5s", "max": "1s"})"),
                 "groups[0].reconnect: 'min' (5s) must not exceed 'max' (1s)");
    expect_error(minimal("", R"("ramp_up": "2m")"),
                 "groups[0].ramp_up: 120s is longer than the scenario's duration of 60s");
    expect_error(minimal(R"("server": {"heartbeat": "5ms"})"),
                 "server.heartbeat: must be at least 10ms");
    EXPECT_EQ(parse_duration_text("1.5s"), Millis(1500));
    EXPECT_EQ(parse_duration_text("2m"), Millis(120000));
    EXPECT_EQ(parse_duration_text("1h"), Millis(3600000));
    EXPECT_EQ(parse_duration_text("250ms"), Millis(250));
    EXPECT_FALSE(parse_duration_text("250"));
    EXPECT_FALSE(parse_duration_text("s"));
    EXPECT_FALSE(parse_duration_text("1e3s"));
    EXPECT_FALSE(parse_duration_text("10 s"));
}

TEST(ScenarioLoad, PrefixesThePath) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto missing = (dir / "streambed-no-such-scenario.json").string();
    auto r = load_scenario(missing);
    ASSERT_FALSE(r.scenario);
    EXPECT_EQ(r.error.rfind(missing + ": cannot read the file", 0), 0u) << r.error;
    const auto path = (dir / "streambed-scenario-test.json").string();
    std::ofstream(path) << "{\n  \"name\": \"t\",\n  \"duration\": \"1s\",\n";
    r = load_scenario(path);
    ASSERT_FALSE(r.scenario);
    EXPECT_EQ(r.error.rfind(path + ": line 4, column 1: syntax error", 0), 0u) << r.error;
    std::filesystem::remove(path);
}

TEST(ScenarioLibrary, EveryScenarioFileParses) {
    const std::filesystem::path dir = std::filesystem::path(STREAMBED_SOURCE_DIR) / "scenarios";
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {  // soak/ too
        if (entry.path().extension() != ".json") continue;
        ++count;
        const auto r = load_scenario(entry.path().string());
        EXPECT_TRUE(r.scenario) << r.error;
        if (r.scenario) {
            EXPECT_EQ(r.scenario->name, entry.path().stem().string())
                << "the name matches the file";
        }
    }
    EXPECT_GE(count, 9u);
}

}  // namespace
}  // namespace streambed::runner
