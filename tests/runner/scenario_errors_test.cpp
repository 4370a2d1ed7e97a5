// scenario_errors_test.cpp: each kind of scenario error reported with its place and what was
// expected — syntax (line and column), unknown fields (the nearest name), types, ranges,
// endpoints, the simulator section, the timeline, expectations and groups.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runner/scenario_parse.hpp"
#include "runner/scenario_values.hpp"
#include "tests/runner/scenario_text.hpp"

namespace streambed::runner {
namespace {

using namespace std::chrono_literals;

TEST(ScenarioParse, SyntaxErrorsNameLineAndColumn) {
    expect_error("{\n  \"name\": \"t\",\n  \"groups\": [\n",
                 "line 4, column 1: syntax error: unexpected end of input");
    expect_error("{\n  \"name\": \"t\",\n    \"duration\": 60s\n}",
                 "line 3, column 19: syntax error: invalid literal");
    expect_error("{\"name\": \"t\",}", "line 1, column 14: syntax error:");
    expect_error("", "line 1, column 1: syntax error");
    expect_error("{} /* open", "syntax error");
    expect_error("[1, 2]", "a scenario is a JSON object");
}

TEST(ScenarioParse, UnknownFieldsSuggestTheNearestName) {
    expect_error(minimal("", R"("clinets": 3)"),
                 "groups[0].clinets: unknown field (did you mean 'clients'?)");
    expect_error(minimal(R"("duraton": "1s")"),
                 "duraton: unknown field (did you mean 'duration'?)");
    expect_error(minimal(R"("simulator": {"txPerSecnd": 3})"),
                 "simulator.txPerSecnd: unknown field (did you mean 'txPerSecond'?)");
    expect_error(minimal(R"("expect": [{"lateness_p98": "< 1s"}])"),
                 "expect[0].lateness_p98: unknown field (did you mean 'lateness_p99'?)");
    expect_error(minimal(R"("zzzzzz": 1)"),
                 "zzzzzz: unknown field (expected one of: name, description");
    expect_error(
        minimal(
            R"("timeline": [{"at": "1s", "event": "partition", "for": "1s", "down_for": "1s"}])"),
        "timeline[0].down_for: not a field of a 'partition' event (it takes: at, event, group, "
        "for)");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "partiton", "for": "1s"}])"),
                 "timeline[0].event: unknown event 'partiton' (did you mean 'partition'?)");
    expect_error(
        minimal("", R"("reading": {"mode": "slow", "bytes_per_second": 10, "every": "1s"})"),
        "groups[0].reading.every: not a field of reading mode 'slow'");
    expect_error(minimal("", R"("clients": 1, "clients": 2)"),
                 "groups[0].clients: given twice in the same object");
}

TEST(ScenarioParse, MissingAndWrongTypes) {
    expect_error(R"({"duration": "1s", "groups": [{"name": "g"}]})",
                 "name: missing (a required field)");
    expect_error(R"({"name": "t", "groups": [{"name": "g"}]})", "duration: missing");
    expect_error(R"({"name": "t", "duration": "1s"})", "groups: missing");
    expect_error(R"({"name": "t", "duration": "1s", "groups": []})",
                 "groups: must hold at least 1 element");
    expect_error(minimal("", R"("clients": "3")"),
                 "groups[0].clients: expected an integer between 1 and 20000");
    expect_error(minimal("", R"("clients": 2.5)"), "groups[0].clients: expected an integer");
    expect_error(minimal("", R"("batch": 1)"), "groups[0].batch: expected true or false, not 1");
    expect_error(minimal("", R"("subscribe": "ch-1")"), "groups[0].subscribe: expected an array");
    expect_error(minimal(R"("seed": -1)"), "seed: must not be negative");
    expect_error(minimal(R"("seed": "7")"), "seed: expected a non-negative integer");
    expect_error(R"({"name": "bad name", "duration": "1s", "groups": [{"name": "g"}]})",
                 "name: 'bad name' is not a scenario name");
    expect_error(minimal(R"("server": [])"), "server: expected an object");
}

TEST(ScenarioParse, ValuesOutOfRange) {
    expect_error(minimal("", R"("clients": 20001)"),
                 "groups[0].clients: must be between 1 and 20000, not 20001");
    expect_error(minimal("", R"("clients": 0)"),
                 "groups[0].clients: must be between 1 and 20000, not 0");
    expect_error(minimal("", R"("clients": -3)"),
                 "groups[0].clients: must be between 1 and 20000, not -3");
    expect_error(minimal(R"("server": {"threads": 300})"),
                 "server.threads: must be between 0 and 256, not 300");
    expect_error(minimal(R"("time_scale": 0)"), "time_scale: must be more than 0");
    expect_error(minimal(R"("time_scale": "fast")"), "time_scale: expected a number");
    expect_error(minimal(R"("time_scale": "max")"),
                 "time_scale: \"max\" is not a scenario's time scale: a timeline");
    expect_error(minimal(R"("server": {"outbound_limit": "512B"})"),
                 "server.outbound_limit: must be between 1024 and");
    expect_error(minimal(R"("server": {"inbound_limit": "64 KiB"})"),
                 "server.inbound_limit: '64 KiB' is not a size");
    expect_error(minimal("", R"("reading": {"mode": "slow", "bytes_per_second": 0})"),
                 "groups[0].reading.bytes_per_second: must be more than 0");
    expect_error(minimal("", R"("reading": {"mode": "pausing", "every": "1s", "pause": "2s"})"),
                 "groups[0].reading.pause: must be shorter than 'every' (1s), not 2s");
    expect_error(minimal("", R"("reading": "slow")"), "groups[0].reading: \"slow\" needs a rate");
    expect_error(minimal("", R"("misbehave": {"kind": "flood", "per_second": -1})"),
                 "groups[0].misbehave.per_second: must be more than 0");
    expect_error(
        minimal("", R"("misbehave": {"kind": "oversize"})"),
        "groups[0].misbehave.kind: unknown misbehaviour 'oversize' (did you mean 'oversized'?)");
    expect_error(
        minimal(R"("timeline": [{"at": "1s", "event": "churn", "group": "g", "fraction": 0}])"),
        "timeline[0].fraction: must be more than 0");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "impair", "bandwidth": "fast"}])"),
                 "timeline[0].bandwidth: \"fast\" is not a rate");
}

TEST(ScenarioParse, Endpoints) {
    expect_error(
        minimal("", R"("endpoint": "/ws/channel", "subscribe": ["*"])"),
        "groups[0].endpoint: '/ws/channel' is not an endpoint (did you mean '/ws/channels'?)");
    expect_error(minimal("", R"("endpoint": "/ws/channels")"),
                 "groups[0].subscribe: /ws/channels sends nothing until a client subscribes");
    expect_error(minimal("", R"("endpoint": "/ws/validators", "subscribe": [])"),
                 "groups[0].subscribe: /ws/validators sends nothing");
    expect_error(minimal("", R"("endpoint": "/ws/network", "subscribe": ["network"])"),
                 "groups[0].subscribe: /ws/network subscribes each connection when it opens");
    expect_error(minimal("", R"("endpoint": "/ws/channels", "subscribe": ["ch 1"])"),
                 "groups[0].subscribe[0]: 'ch 1' is not a channel id");
    parse_ok(minimal("", R"("endpoint": "/ws/consensus", "subscribe": [])"));
}

TEST(ScenarioParse, SimulatorSection) {
    expect_error(minimal(R"("simulator": {"channels": 5000})"),
                 "simulator.channels: must be between 1 and 1000, not 5000");
    expect_error(minimal(R"("simulator": {"txPerSecond": "4"})"),
                 "simulator.txPerSecond: must be a number");
    expect_error(minimal(R"("simulator": {"episodes": {"failedRound": 2}})"),
                 "simulator.episodes.failedRound: must be between 0 and 1");
    expect_error(minimal(R"("simulator": {"seed": 7})"),
                 "simulator.seed: the seed is set at the top level");
    expect_error(minimal(R"("simulator": 3)"), "simulator: expected an object");
}

TEST(ScenarioParse, TimelineChecks) {
    const std::string base =
        R"({"name": "t", "duration": "60s", "groups": [{"name": "portal"}, {"name": "late"}], "timeline": [)";
    auto timeline = [&](const std::string& events) { return base + events + "]}"; };
    expect_error(timeline(R"({"at": "70s", "event": "server_kill"})"),
                 "timeline[0]: at 70s, past the scenario's duration of 60s");
    expect_error(
        timeline(
            R"({"at": "1s", "event": "join", "group": "late"}, {"at": "50s", "event": "partition", "for": "20s"})"),
        "timeline[1]: ends at 70s, past the scenario's duration of 60s");
    expect_error(timeline(R"({"at": "59s", "event": "server_kill", "down_for": "2s"})"),
                 "timeline[0]: ends at 61s");
    expect_error(timeline(R"({"at": "1s", "event": "partition", "group": "portl", "for": "1s"})"),
                 "timeline[0].group: no group named 'portl' (did you mean 'portal'?)");
    expect_error(timeline(R"({"at": "1s", "event": "churn"})"),
                 "timeline[0].group: missing: a 'churn' event names its group");
    expect_error(
        timeline(
            R"({"at": "30s", "event": "join", "group": "late"}, {"at": "10s", "event": "leave", "group": "late"})"),
        "timeline[1]: group 'late' leaves at 10s, not after it joins at 30s (timeline[0])");
    expect_error(
        timeline(
            R"({"at": "3s", "event": "join", "group": "late"}, {"at": "10s", "event": "join", "group": "late"})"),
        "timeline[1]: a second join of group 'late'");
    expect_error(
        timeline(
            R"({"at": "3s", "event": "impair", "name": "a", "latency": "5ms"}, {"at": "10s", "event": "clear", "name": "b"})"),
        "timeline[1].name: no impair event named 'b' at or before 10s");
    expect_error(timeline(R"({"at": "3s", "event": "impair", "direction": "both"})"),
                 "timeline[0]: an impair event needs at least one impairment");
    expect_error(timeline(R"({"at": "3s", "event": "impair", "slice_delay": "5ms"})"),
                 "timeline[0].slice_delay: only with 'slice'");
    expect_error(
        timeline(
            R"({"at": "10s", "event": "server_kill", "down_for": "5s"}, {"at": "12s", "event": "server_restart"})"),
        "timeline[1]: at 12s, while the server is down (timeline[0] keeps it down until 15s)");
    expect_error(timeline(R"({"event": "server_kill"})"), "timeline[0].at: missing");
    expect_error(timeline(R"({"at": "1s"})"), "timeline[0].event: missing: one of impair, clear");
    // Without a join, a leave is fine; a clear without a name clears everything.
    const Scenario s = parse_ok(timeline(
        R"({"at": "20s", "event": "leave", "group": "late"}, {"at": "5s", "event": "clear"})"));
    EXPECT_TRUE(s.groups[1].starts_joined);
    EXPECT_EQ(s.timeline[0].kind, Event::Kind::clear);
}

TEST(ScenarioParse, ExpectationChecks) {
    auto expect = [](const std::string& objects) {
        return minimal(R"("expect": [)" + objects + "]");
    };
    expect_error(expect(R"({"lateness_p99": "< 100"})"),
                 "expect[0].lateness_p99: '100' has no unit: a duration takes ms, s or m");
    expect_error(expect(R"({"lateness_p99": "< 100kg"})"),
                 "expect[0].lateness_p99: unknown unit 'kg'");
    expect_error(
        expect(R"({"server_rss": "< 256"})"),
        "expect[0].server_rss: no unit in '256': a size takes KB, MB, GB, KiB, MiB or GiB");
    expect_error(expect(R"({"delivery_ratio": ">= 1.5"})"),
                 "expect[0].delivery_ratio: '1.5': a ratio is at most 1");
    expect_error(expect(R"({"gaps": "== 0.5"})"),
                 "expect[0].gaps: '0.5': a count is a non-negative integer");
    expect_error(expect(R"({"gaps": 0})"),
                 "expect[0].gaps: expected a threshold string such as \"== 0\"");
    expect_error(expect(R"({"gaps": "= 0"})"), "expect[0].gaps: expected a threshold: an operator");
    expect_error(expect(R"({"connected": ">= 1"})"),
                 "expect[0].connected: sampled at an instant: give 'at'");
    expect_error(expect(R"({"at": "10s", "gaps": "== 0"})"),
                 "expect[0].at: applies only to 'connected'");
    expect_error(expect(R"({"at": "90s", "connected": ">= 1"})"),
                 "expect[0].at: 90s is past the scenario's duration of 60s");
    expect_error(expect(R"({"group": "g", "server_rss": "< 1GB"})"),
                 "expect[0].server_rss: a figure of the whole run: not with 'group'");
    expect_error(expect(R"({"group": "g", "recording_complete": true})"),
                 "expect[0].recording_complete: a figure of the whole run");
    expect_error(expect(R"({"recording_complete": "yes"})"),
                 "expect[0].recording_complete: expected true or false");
    expect_error(expect(R"({"group": "h", "gaps": "== 0"})"),
                 "expect[0].group: no group named 'h'");
    expect_error(expect(R"({"group": "g"})"), "expect[0]: no metric to check");
    const Scenario s = parse_ok(expect(
        R"({"delivery_ratio": " >=0.5 "}, {"server_rss": "<= 1.5GB"}, {"recording_complete": false})"));
    EXPECT_EQ(s.expectations[0].threshold, 0.5);
    EXPECT_EQ(s.expectations[0].text, " >=0.5 ");
    EXPECT_DOUBLE_EQ(s.expectations[1].threshold, 1500);
    EXPECT_EQ(s.expectations[2].threshold, 0);
}

TEST(ScenarioParse, Groups) {
    expect_error(R"({"name": "t", "duration": "1s", "groups": [{"name": "a"}, {"name": "a"}]})",
                 "groups[1].name: a second group named 'a'");
    expect_error(minimal("", R"("reconnect": "yes")"),
                 "groups[0].reconnect: expected false (no reconnect)");
    const Scenario s = parse_ok(minimal("", R"("reconnect": true, "misbehave": "none")"));
    EXPECT_TRUE(s.groups[0].reconnect.enabled);
}

}  // namespace
}  // namespace streambed::runner
