// restart_test.cpp: `serve --clock-start` and `--stop-after` with the real program as child
// processes — a server killed (SIGKILL) and started again with the same options continues the
// same world: same epoch, same clock, and a client resuming with `since` gets exactly the seqs it
// missed, byte for byte what an uninterrupted server holds; a stopped simulation stops moving;
// bad values exit 2 with one line. Every wait has a deadline; children die with their owners.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kEpochMs = 1762732800000;  // the simulator's default epoch

std::int64_t wall_now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// `streambed serve --port 0 ARGS...`, past its listening line.
struct Serve {
    explicit Serve(const std::vector<std::string>& args) {
        std::vector<std::string> all{"serve", "--port", "0"};
        all.insert(all.end(), args.begin(), args.end());
        child = std::make_unique<ChildProcess>(STREAMBED_BINARY, all);
        const auto line = child->next_line(10s);
        if (!line)
            throw std::runtime_error("no listening line within 10 s; stderr: " + child->err());
        static const std::regex kLine(R"(listening on http://127\.0\.0\.1:([0-9]{1,5}))");
        std::smatch m;
        if (!std::regex_match(*line, m, kLine))
            throw std::runtime_error("unexpected first line: " + *line);
        port = static_cast<std::uint16_t>(std::stoi(m[1].str()));
    }
    std::unique_ptr<ChildProcess> child;
    std::uint16_t port = 0;
};

// The wall µs a welcome's clock pairs with the epoch's simulated instant.
double epoch_due_us(const json& welcome) {
    const auto& c = welcome["clock"];
    return c["wall"].get<double>() + static_cast<double>(kEpochMs - c["time"].get<std::int64_t>()) *
                                         1000.0 / c["scale"].get<double>();
}

struct Frame {
    std::uint64_t seq;
    std::string text;
};

// The next data messages of a subscription on /ws/channels, skipping nothing.
std::vector<Frame> read_data(WsClient& c, std::size_t n) {
    std::vector<Frame> out;
    while (out.size() < n) {
        std::string text = c.read_text();
        const json j = json::parse(text);
        if (!j.contains("seq")) throw std::runtime_error("not a data message: " + text);
        out.push_back({j["seq"].get<std::uint64_t>(), std::move(text)});
    }
    return out;
}

TEST(Restart, KilledServerRestartedWithTheSameClockStartResumesWithoutGap) {
    const std::string start = std::to_string(wall_now_ms() - 5000);  // 100 simulated s ago at 20x
    const std::vector<std::string> args{"--seed",        "7",  "--time-scale", "20",
                                        "--clock-start", start};
    const std::string subscribe = R"({"action":"subscribe","channels":["ch-1"]})";

    // The first server: a client reads ch-1 (its snapshot, then ticks every 100 ms and blocks).
    auto first = std::make_unique<Serve>(args);
    WsClient a(first->port, "/ws/channels");
    const json welcome_a = a.read_json();
    const std::string epoch = welcome_a["epoch"];
    EXPECT_TRUE(epoch.starts_with("sim-")) << welcome_a.dump();
    // The clock pairs the epoch with the clock start, not with the process start.
    EXPECT_NEAR(epoch_due_us(welcome_a), std::stod(start) * 1000, 1000) << welcome_a.dump();
    a.send(subscribe);
    ASSERT_EQ(a.read_json()["type"], "subscribed");
    const auto before = read_data(a, 5);
    EXPECT_GE(before.front().seq, 40u)
        << "history does not look caught up: " << before.front().text;
    // After the snapshot (the latest state, which a newer block may follow in history): live.
    for (std::size_t i = 2; i < before.size(); ++i) ASSERT_EQ(before[i].seq, before[i - 1].seq + 1);
    const std::uint64_t last = before.back().seq;

    first->child->send_signal(SIGKILL);
    ASSERT_TRUE(first->child->wait_exit(10s));
    first.reset();

    // The second server: same options, a new port; the client resumes from its last seq.
    Serve second(args);
    WsClient b(second.port, "/ws/channels");
    const json welcome_b = b.read_json();
    EXPECT_EQ(welcome_b["epoch"], epoch);
    EXPECT_NEAR(epoch_due_us(welcome_b), epoch_due_us(welcome_a), 1000);
    b.send_json({{"action", "subscribe"},
                 {"channels", {"ch-1"}},
                 {"since", {{"ch-1", last}}},
                 {"epoch", epoch}});
    const json sub = b.read_json();
    ASSERT_EQ(sub["recovered"]["ch-1"], true) << sub.dump();
    // What it missed while no server ran (about a second: ~14 messages), then live ones.
    const auto after = read_data(b, 30);
    EXPECT_EQ(after.front().seq, last + 1);
    for (std::size_t i = 1; i < after.size(); ++i)
        ASSERT_EQ(after[i].seq, after[i - 1].seq + 1) << "gap or repeat";

    // A third server, never interrupted from the clock start's point of view, holds the same
    // bytes for every one of those seqs (and for those the first server sent).
    Serve third(args);
    const std::string poll =
        "/api/v11/poll/channels?channels=ch-1&since=ch-1:" + std::to_string(before.front().seq - 1);
    HttpResult r;
    ASSERT_TRUE(wait_until(
        [&] {
            r = http_get(third.port, poll);
            return r.status == 200 &&
                   r.body_json()["next"]["ch-1"].get<std::uint64_t>() >= after.back().seq;
        },
        10s))
        << r.status << " " << r.body;
    EXPECT_EQ(r.body_json()["epoch"], epoch);
    for (const auto* frames : {&before, &after})
        for (const auto& f : *frames)
            EXPECT_NE(r.body.find(f.text), std::string::npos) << "seq " << f.seq << " differs";
}

TEST(Restart, StopAfterFreezesTheStreamsWhileTheServerServes) {
    Serve s({"--time-scale", "20", "--stop-after", "2s"});  // 2 simulated s: 100 wall ms
    auto newest = [&](const std::string& endpoint, const std::string& channel) {
        const auto r = http_get(s.port, "/api/v11/poll/" + endpoint + "?channels=" + channel);
        return r.status == 200 ? r.body_json()["next"][channel].get<std::uint64_t>() : 0;
    };
    // The one metrics tick within 2 s (at 2 s), and ch-1's.
    ASSERT_TRUE(wait_until([&] { return newest("metrics", "metrics") == 1; }, 5s));
    WsClient c(s.port, "/ws/metrics");
    const json welcome = c.read_json();
    // Wait until the simulated clock is 5 ticks past the stop, then nothing has moved.
    const double due_us = epoch_due_us(welcome) + 12'000.0 * 1000.0 / 20.0;
    ASSERT_TRUE(
        wait_until([&] { return static_cast<double>(wall_now_ms()) * 1000.0 > due_us; }, 5s));
    EXPECT_EQ(newest("metrics", "metrics"), 1u);
    EXPECT_EQ(newest("channels", "ch-1"), 1u);
    EXPECT_EQ(http_get(s.port, "/q/health").status, 200);  // still serving
    EXPECT_TRUE(s.child->running());
}

struct BadValue {
    std::string name;
    std::vector<std::string> args;
    std::string named;
};
void PrintTo(const BadValue& b, std::ostream* os) {
    *os << b.name;
}

class RestartBadOptions : public ::testing::TestWithParam<BadValue> {};

TEST_P(RestartBadOptions, ExitTwoWithOneLine) {
    std::vector<std::string> args{"serve", "--port", "0"};
    args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
    ChildProcess c(STREAMBED_BINARY, args);
    const auto st = c.wait_exit(10s);
    ASSERT_TRUE(st) << "still running after 10 s";
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 2) << "wait status " << *st;
    const std::string err = c.err();
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "not one line: " << err;
    EXPECT_NE(err.find(GetParam().named), std::string::npos) << err;
    EXPECT_EQ(c.out(), "");
}

INSTANTIATE_TEST_SUITE_P(
    Cli, RestartBadOptions,
    ::testing::Values(
        BadValue{"NegativeClockStart", {"--clock-start", "-5"}, "--clock-start"},
        BadValue{"ClockStartNotANumber", {"--clock-start", "soon"}, "--clock-start"},
        BadValue{"ClockStartWithAFraction", {"--clock-start", "1762732800000.5"}, "--clock-start"},
        BadValue{"ClockStartInTheFarFuture",
                 {"--clock-start", std::to_string(wall_now_ms() + 2 * 3600'000)},
                 "--clock-start"},
        BadValue{"ClockStartInSeconds",
                 {"--time-scale", "20", "--clock-start", std::to_string(wall_now_ms() / 1000)},
                 "--clock-start"},
        BadValue{"ClockStartUnpaced",
                 {"--time-scale", "max", "--clock-start", std::to_string(wall_now_ms())},
                 "--clock-start"},
        BadValue{"ClockStartWithFlood",
                 {"--flood", "100", "--clock-start", std::to_string(wall_now_ms())},
                 "--clock-start"},
        BadValue{"StopAfterBadUnit", {"--stop-after", "5x"}, "--stop-after"}),
    [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace streambed::testing
