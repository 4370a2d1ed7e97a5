// scenario_parse_test.cpp: the scenario file format — a full example read into the model, each
// kind of error reported with its place and what was expected, and every file of the scenario
// library (scenarios/*.json) accepted. Robustness and the docs: scenario_robustness_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runner/scenario_parse.hpp"
#include "runner/scenario_values.hpp"

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

Scenario parse_ok(std::string_view text) {
    auto r = parse_scenario(text);
    EXPECT_TRUE(r.scenario) << r.error;
    EXPECT_EQ(r.error, "");
    return r.scenario ? *r.scenario : Scenario{};
}

// The error of a scenario that must fail, checked to contain `fragment`.
void expect_error(std::string_view text, const std::string& fragment) {
    auto r = parse_scenario(text);
    ASSERT_FALSE(r.scenario) << "parsed, expected an error containing: " << fragment;
    EXPECT_NE(r.error.find(fragment), std::string::npos) << "error: " << r.error << "\nexpected: " << fragment;
}

// A minimal valid scenario with `extra` inserted among the top-level fields, and `group` as its
// one group's extra fields.
std::string minimal(const std::string& extra = "", const std::string& group = "") {
    return R"({"name": "t", "duration": "60s", "groups": [{"name": "g")" + (group.empty() ? "" : ", " + group) + "}]" +
           (extra.empty() ? "" : ", " + extra) + "}";
}

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
    EXPECT_EQ(s.simulator_json, R"({"channels":3,"episodes":{"failedRound":0.1},"txPerSecond":10})");

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
    EXPECT_EQ(kinds, (std::vector<K>{K::impair, K::impair, K::join, K::partition, K::clear, K::server_kill,
                                     K::server_restart, K::leave, K::churn}));
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
    parse_ok("// leading\n{ /* inline */ \"name\": \"t\", // trailing\n \"duration\": \"1h\",\n"
             "\"groups\": [{\"name\": \"g\"} /* end */]}\n// after\n");
}

TEST(ScenarioParse, SyntaxErrorsNameLineAndColumn) {
    expect_error("{\n  \"name\": \"t\",\n  \"groups\": [\n", "line 4, column 1: syntax error: unexpected end of input");
    expect_error("{\n  \"name\": \"t\",\n    \"duration\": 60s\n}", "line 3, column 19: syntax error: invalid literal");
    expect_error("{\"name\": \"t\",}", "line 1, column 14: syntax error:");
    expect_error("", "line 1, column 1: syntax error");
    expect_error("{} /* open", "syntax error");
    expect_error("[1, 2]", "a scenario is a JSON object");
}

TEST(ScenarioParse, UnknownFieldsSuggestTheNearestName) {
    expect_error(minimal("", R"("clinets": 3)"), "groups[0].clinets: unknown field (did you mean 'clients'?)");
    expect_error(minimal(R"("duraton": "1s")"), "duraton: unknown field (did you mean 'duration'?)");
    expect_error(minimal(R"("simulator": {"txPerSecnd": 3})"), "simulator.txPerSecnd: unknown field (did you mean 'txPerSecond'?)");
    expect_error(minimal(R"("expect": [{"lateness_p98": "< 1s"}])"), "expect[0].lateness_p98: unknown field (did you mean 'lateness_p99'?)");
    expect_error(minimal(R"("zzzzzz": 1)"), "zzzzzz: unknown field (expected one of: name, description");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "partition", "for": "1s", "down_for": "1s"}])"),
                 "timeline[0].down_for: not a field of a 'partition' event (it takes: at, event, group, for)");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "partiton", "for": "1s"}])"),
                 "timeline[0].event: unknown event 'partiton' (did you mean 'partition'?)");
    expect_error(minimal("", R"("reading": {"mode": "slow", "bytes_per_second": 10, "every": "1s"})"),
                 "groups[0].reading.every: not a field of reading mode 'slow'");
    expect_error(minimal("", R"("clients": 1, "clients": 2)"), "groups[0].clients: given twice in the same object");
}

TEST(ScenarioParse, MissingAndWrongTypes) {
    expect_error(R"({"duration": "1s", "groups": [{"name": "g"}]})", "name: missing (a required field)");
    expect_error(R"({"name": "t", "groups": [{"name": "g"}]})", "duration: missing");
    expect_error(R"({"name": "t", "duration": "1s"})", "groups: missing");
    expect_error(R"({"name": "t", "duration": "1s", "groups": []})", "groups: must hold at least 1 element");
    expect_error(minimal("", R"("clients": "3")"), "groups[0].clients: expected an integer between 1 and 20000");
    expect_error(minimal("", R"("clients": 2.5)"), "groups[0].clients: expected an integer");
    expect_error(minimal("", R"("batch": 1)"), "groups[0].batch: expected true or false, not 1");
    expect_error(minimal("", R"("subscribe": "ch-1")"), "groups[0].subscribe: expected an array");
    expect_error(minimal(R"("seed": -1)"), "seed: must not be negative");
    expect_error(minimal(R"("seed": "7")"), "seed: expected a non-negative integer");
    expect_error(R"({"name": "bad name", "duration": "1s", "groups": [{"name": "g"}]})", "name: 'bad name' is not a scenario name");
    expect_error(minimal(R"("server": [])"), "server: expected an object");
}

TEST(ScenarioParse, Durations) {
    expect_error(R"({"name": "t", "duration": "10 seconds", "groups": [{"name": "g"}]})",
                 "duration: '10 seconds' is not a duration: expected a number and a unit (ms, s, m or h)");
    expect_error(R"({"name": "t", "duration": 60, "groups": [{"name": "g"}]})",
                 "duration: expected a duration with a unit, such as \"60s\"");
    expect_error(R"({"name": "t", "duration": "0s", "groups": [{"name": "g"}]})", "duration: must be more than 0");
    expect_error(R"({"name": "t", "duration": "25h", "groups": [{"name": "g"}]})", "duration: must be at most 24h");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "partition", "for": "-5s"}])"),
                 "timeline[0].for: must not be negative, not '-5s'");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "partition", "for": "0ms"}])"),
                 "timeline[0].for: must be more than 0");
    expect_error(minimal("", R"("reconnect": {"min": "5s", "max": "1s"})"), "groups[0].reconnect: 'min' (5s) must not exceed 'max' (1s)");
    expect_error(minimal("", R"("ramp_up": "2m")"), "groups[0].ramp_up: 120s is longer than the scenario's duration of 60s");
    expect_error(minimal(R"("server": {"heartbeat": "5ms"})"), "server.heartbeat: must be at least 10ms");
    EXPECT_EQ(parse_duration_text("1.5s"), Millis(1500));
    EXPECT_EQ(parse_duration_text("2m"), Millis(120000));
    EXPECT_EQ(parse_duration_text("1h"), Millis(3600000));
    EXPECT_EQ(parse_duration_text("250ms"), Millis(250));
    EXPECT_FALSE(parse_duration_text("250"));
    EXPECT_FALSE(parse_duration_text("s"));
    EXPECT_FALSE(parse_duration_text("1e3s"));
    EXPECT_FALSE(parse_duration_text("10 s"));
}

TEST(ScenarioParse, ValuesOutOfRange) {
    expect_error(minimal("", R"("clients": 20001)"), "groups[0].clients: must be between 1 and 20000, not 20001");
    expect_error(minimal("", R"("clients": 0)"), "groups[0].clients: must be between 1 and 20000, not 0");
    expect_error(minimal("", R"("clients": -3)"), "groups[0].clients: must be between 1 and 20000, not -3");
    expect_error(minimal(R"("server": {"threads": 300})"), "server.threads: must be between 0 and 256, not 300");
    expect_error(minimal(R"("time_scale": 0)"), "time_scale: must be more than 0");
    expect_error(minimal(R"("time_scale": "fast")"), "time_scale: expected a number");
    expect_error(minimal(R"("time_scale": "max")"), "time_scale: \"max\" is not a scenario's time scale: a timeline");
    expect_error(minimal(R"("server": {"outbound_limit": "512B"})"), "server.outbound_limit: must be between 1024 and");
    expect_error(minimal(R"("server": {"inbound_limit": "64 KiB"})"), "server.inbound_limit: '64 KiB' is not a size");
    expect_error(minimal("", R"("reading": {"mode": "slow", "bytes_per_second": 0})"),
                 "groups[0].reading.bytes_per_second: must be more than 0");
    expect_error(minimal("", R"("reading": {"mode": "pausing", "every": "1s", "pause": "2s"})"),
                 "groups[0].reading.pause: must be shorter than 'every' (1s), not 2s");
    expect_error(minimal("", R"("reading": "slow")"), "groups[0].reading: \"slow\" needs a rate");
    expect_error(minimal("", R"("misbehave": {"kind": "flood", "per_second": -1})"), "groups[0].misbehave.per_second: must be more than 0");
    expect_error(minimal("", R"("misbehave": {"kind": "oversize"})"), "groups[0].misbehave.kind: unknown misbehaviour 'oversize' (did you mean 'oversized'?)");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "churn", "group": "g", "fraction": 0}])"),
                 "timeline[0].fraction: must be more than 0");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "impair", "bandwidth": "fast"}])"),
                 "timeline[0].bandwidth: \"fast\" is not a rate");
}

TEST(ScenarioParse, Endpoints) {
    expect_error(minimal("", R"("endpoint": "/ws/channel", "subscribe": ["*"])"),
                 "groups[0].endpoint: '/ws/channel' is not an endpoint (did you mean '/ws/channels'?)");
    expect_error(minimal("", R"("endpoint": "/ws/channels")"), "groups[0].subscribe: /ws/channels sends nothing until a client subscribes");
    expect_error(minimal("", R"("endpoint": "/ws/validators", "subscribe": [])"), "groups[0].subscribe: /ws/validators sends nothing");
    expect_error(minimal("", R"("endpoint": "/ws/network", "subscribe": ["network"])"),
                 "groups[0].subscribe: /ws/network subscribes each connection when it opens");
    expect_error(minimal("", R"("endpoint": "/ws/channels", "subscribe": ["ch 1"])"), "groups[0].subscribe[0]: 'ch 1' is not a channel id");
    parse_ok(minimal("", R"("endpoint": "/ws/consensus", "subscribe": [])"));
}

TEST(ScenarioParse, SimulatorSection) {
    expect_error(minimal(R"("simulator": {"channels": 5000})"), "simulator.channels: must be between 1 and 1000, not 5000");
    expect_error(minimal(R"("simulator": {"txPerSecond": "4"})"), "simulator.txPerSecond: must be a number");
    expect_error(minimal(R"("simulator": {"episodes": {"failedRound": 2}})"), "simulator.episodes.failedRound: must be between 0 and 1");
    expect_error(minimal(R"("simulator": {"seed": 7})"), "simulator.seed: the seed is set at the top level");
    expect_error(minimal(R"("simulator": 3)"), "simulator: expected an object");
}

TEST(ScenarioParse, TimelineChecks) {
    const std::string base = R"({"name": "t", "duration": "60s", "groups": [{"name": "portal"}, {"name": "late"}], "timeline": [)";
    auto timeline = [&](const std::string& events) { return base + events + "]}"; };
    expect_error(timeline(R"({"at": "70s", "event": "server_kill"})"), "timeline[0]: at 70s, past the scenario's duration of 60s");
    expect_error(timeline(R"({"at": "1s", "event": "join", "group": "late"}, {"at": "50s", "event": "partition", "for": "20s"})"),
                 "timeline[1]: ends at 70s, past the scenario's duration of 60s");
    expect_error(timeline(R"({"at": "59s", "event": "server_kill", "down_for": "2s"})"), "timeline[0]: ends at 61s");
    expect_error(timeline(R"({"at": "1s", "event": "partition", "group": "portl", "for": "1s"})"),
                 "timeline[0].group: no group named 'portl' (did you mean 'portal'?)");
    expect_error(timeline(R"({"at": "1s", "event": "churn"})"), "timeline[0].group: missing: a 'churn' event names its group");
    expect_error(timeline(R"({"at": "30s", "event": "join", "group": "late"}, {"at": "10s", "event": "leave", "group": "late"})"),
                 "timeline[1]: group 'late' leaves at 10s, not after it joins at 30s (timeline[0])");
    expect_error(timeline(R"({"at": "3s", "event": "join", "group": "late"}, {"at": "10s", "event": "join", "group": "late"})"),
                 "timeline[1]: a second join of group 'late'");
    expect_error(timeline(R"({"at": "3s", "event": "impair", "name": "a", "latency": "5ms"}, {"at": "10s", "event": "clear", "name": "b"})"),
                 "timeline[1].name: no impair event named 'b' at or before 10s");
    expect_error(timeline(R"({"at": "3s", "event": "impair", "direction": "both"})"), "timeline[0]: an impair event needs at least one impairment");
    expect_error(timeline(R"({"at": "3s", "event": "impair", "slice_delay": "5ms"})"), "timeline[0].slice_delay: only with 'slice'");
    expect_error(timeline(R"({"at": "10s", "event": "server_kill", "down_for": "5s"}, {"at": "12s", "event": "server_restart"})"),
                 "timeline[1]: at 12s, while the server is down (timeline[0] keeps it down until 15s)");
    expect_error(timeline(R"({"event": "server_kill"})"), "timeline[0].at: missing");
    expect_error(timeline(R"({"at": "1s"})"), "timeline[0].event: missing: one of impair, clear");
    // Without a join, a leave is fine; a clear without a name clears everything.
    const Scenario s = parse_ok(timeline(R"({"at": "20s", "event": "leave", "group": "late"}, {"at": "5s", "event": "clear"})"));
    EXPECT_TRUE(s.groups[1].starts_joined);
    EXPECT_EQ(s.timeline[0].kind, Event::Kind::clear);
}

TEST(ScenarioParse, ExpectationChecks) {
    auto expect = [](const std::string& objects) { return minimal(R"("expect": [)" + objects + "]"); };
    expect_error(expect(R"({"lateness_p99": "< 100"})"), "expect[0].lateness_p99: '100' has no unit: a duration takes ms, s or m");
    expect_error(expect(R"({"lateness_p99": "< 100kg"})"), "expect[0].lateness_p99: unknown unit 'kg'");
    expect_error(expect(R"({"server_rss": "< 256"})"), "expect[0].server_rss: no unit in '256': a size takes KB, MB, GB, KiB, MiB or GiB");
    expect_error(expect(R"({"delivery_ratio": ">= 1.5"})"), "expect[0].delivery_ratio: '1.5': a ratio is at most 1");
    expect_error(expect(R"({"gaps": "== 0.5"})"), "expect[0].gaps: '0.5': a count is a non-negative integer");
    expect_error(expect(R"({"gaps": 0})"), "expect[0].gaps: expected a threshold string such as \"== 0\"");
    expect_error(expect(R"({"gaps": "= 0"})"), "expect[0].gaps: expected a threshold: an operator");
    expect_error(expect(R"({"connected": ">= 1"})"), "expect[0].connected: sampled at an instant: give 'at'");
    expect_error(expect(R"({"at": "10s", "gaps": "== 0"})"), "expect[0].at: applies only to 'connected'");
    expect_error(expect(R"({"at": "90s", "connected": ">= 1"})"), "expect[0].at: 90s is past the scenario's duration of 60s");
    expect_error(expect(R"({"group": "g", "server_rss": "< 1GB"})"), "expect[0].server_rss: a figure of the whole run: not with 'group'");
    expect_error(expect(R"({"group": "g", "recording_complete": true})"), "expect[0].recording_complete: a figure of the whole run");
    expect_error(expect(R"({"recording_complete": "yes"})"), "expect[0].recording_complete: expected true or false");
    expect_error(expect(R"({"group": "h", "gaps": "== 0"})"), "expect[0].group: no group named 'h'");
    expect_error(expect(R"({"group": "g"})"), "expect[0]: no metric to check");
    const Scenario s = parse_ok(expect(R"({"delivery_ratio": " >=0.5 "}, {"server_rss": "<= 1.5GB"}, {"recording_complete": false})"));
    EXPECT_EQ(s.expectations[0].threshold, 0.5);
    EXPECT_EQ(s.expectations[0].text, " >=0.5 ");
    EXPECT_DOUBLE_EQ(s.expectations[1].threshold, 1500);
    EXPECT_EQ(s.expectations[2].threshold, 0);
}

TEST(ScenarioParse, Groups) {
    expect_error(R"({"name": "t", "duration": "1s", "groups": [{"name": "a"}, {"name": "a"}]})",
                 "groups[1].name: a second group named 'a'");
    expect_error(minimal("", R"("reconnect": "yes")"), "groups[0].reconnect: expected false (no reconnect)");
    const Scenario s = parse_ok(minimal("", R"("reconnect": true, "misbehave": "none")"));
    EXPECT_TRUE(s.groups[0].reconnect.enabled);
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
            EXPECT_EQ(r.scenario->name, entry.path().stem().string()) << "the name matches the file";
        }
    }
    EXPECT_GE(count, 9u);
}

}  // namespace
}  // namespace streambed::runner
