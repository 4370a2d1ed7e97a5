// clock_start_test.cpp: the simulator's epoch (what names its world, what does not) and the
// clock start — a source started late catches up to the simulated now before start() returns,
// with the very bytes an uninterrupted world publishes, and anchors its clock at the start.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/hub.hpp"
#include "engine/server.hpp"
#include "simulator/simulator_source.hpp"
#include "simulator/world.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::simulator {
namespace {

using engine::MessagePtr;

std::int64_t wall_now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Frames through a real Hub; keeps every message, the clock and the epoch it was given.
class Capture final : public engine::Publisher {
  public:
    engine::StreamId declare_stream(engine::Endpoint e, std::string_view channel) override {
        return hub_.declare_stream(e, channel);
    }
    MessagePtr publish(engine::StreamId s, engine::MessageType t, std::int64_t time,
                       std::string_view data) override {
        auto m = hub_.publish(s, t, time, data);
        std::lock_guard lock(mu_);
        all_.push_back(m);
        return m;
    }
    void set_clock(const engine::ClockAnchor& c) override { hub_.set_clock(c); }
    void set_epoch(std::string e) override { hub_.set_epoch(std::move(e)); }

    std::vector<MessagePtr> all() const {
        std::lock_guard lock(mu_);
        return all_;
    }
    std::size_t count() const {
        std::lock_guard lock(mu_);
        return all_.size();
    }
    engine::Hub& hub() { return hub_; }

  private:
    engine::Hub hub_{100000};
    mutable std::mutex mu_;
    std::vector<MessagePtr> all_;
};

TEST(WorldEpoch, NamesTheSeedAndConfigurationNotThePacing) {
    SimConfig a;
    const std::string e = world_epoch(a);
    EXPECT_TRUE(e.starts_with("sim-")) << e;
    EXPECT_EQ(e.size(), 4u + 16u) << e;
    EXPECT_EQ(world_epoch(SimConfig{}), e);  // a pure function of the configuration

    SimConfig paced = a;
    paced.time_scale = 20;
    paced.clock_start_ms = 1'700'000'000'000;
    paced.stop_after_ms = 2000;
    EXPECT_EQ(world_epoch(paced), e) << "pacing does not change what a seq names";

    SimConfig seed = a, epoch_ms = a, channels = a, rate = a, episodes = a;
    seed.seed = 7;
    epoch_ms.epoch_ms += 1;
    channels.channels = 9;
    rate.tx_per_second = 5;
    episodes.episodes.failed_round = 0.5;
    for (const auto& other : {seed, epoch_ms, channels, rate, episodes})
        EXPECT_NE(world_epoch(other), e);
}

// Through a real server: the welcome's epoch is the world's — the same for the same seed at
// another time scale, another for another seed.
TEST(SimulatorSource, WelcomeEpochFollowsTheWorldNotThePace) {
    auto welcome_epoch = [](std::uint64_t seed, double scale) {
        engine::ServerOptions o;
        o.port = 0;
        o.threads = 1;
        engine::Server server(o);
        server.start();
        SimConfig c;
        c.seed = seed;
        c.time_scale = scale;
        SimulatorSource source(c);
        source.start(server.publisher());
        testing::WsClient client(server.port(), "/ws/metrics");
        const std::string epoch = client.read_json()["epoch"];
        client.close();
        source.stop();
        server.shutdown();
        return epoch;
    };
    const std::string e = welcome_epoch(7, 20);
    EXPECT_EQ(e, world_epoch([] {
                  SimConfig c;
                  c.seed = 7;
                  return c;
              }()));
    EXPECT_EQ(welcome_epoch(7, 50), e);
    EXPECT_NE(welcome_epoch(8, 20), e);
}

TEST(SimulatorSource, NamesItsEpochOnStart) {
    SimConfig c;
    c.seed = 7;
    c.time_scale = 20;
    Capture pub;
    SimulatorSource source(c);
    source.start(pub);
    source.stop();
    EXPECT_EQ(pub.hub().epoch(), world_epoch(c));
}

// 30 wall seconds ago at 20x: ten simulated minutes to catch up, done before start() returns.
TEST(SimulatorSource, ClockStartInThePastCatchesUpBeforeStartReturns) {
    SimConfig c;
    c.seed = 7;
    c.time_scale = 20;
    const std::int64_t start_ms = wall_now_ms() - 30'000;
    c.clock_start_ms = start_ms;
    Capture pub;
    SimulatorSource source(c);
    source.start(pub);
    const std::size_t caught_up = pub.count();
    const auto sim_now = engine::sim_at(pub.hub().clock(), engine::wall_now_us());
    source.stop();

    const auto& report = source.catch_up();
    // The pacing thread may already have added what came due during the catch-up.
    EXPECT_LE(report.messages, caught_up);
    EXPECT_GT(report.messages, 20'000u);  // ~43 messages per simulated second at the defaults
    EXPECT_GE(report.simulated_ms, 600'000);
    EXPECT_LT(report.simulated_ms, 700'000);
    const engine::ClockAnchor clock = pub.hub().clock();
    EXPECT_EQ(clock.sim_ms, c.epoch_ms);
    EXPECT_EQ(clock.wall_us, start_ms * 1000);
    EXPECT_EQ(clock.scale, 20.0);

    // History holds what a server running since the clock start holds: the metrics (every 2 s)
    // up to the simulated now.
    const engine::Stream* metrics = pub.hub().find(engine::Endpoint::metrics, "metrics");
    ASSERT_NE(metrics, nullptr);
    const auto latest = metrics->catchup(std::nullopt).messages.at(0);
    EXPECT_GE(latest->seq, 300u);
    EXPECT_LE(latest->time_ms, sim_now);
    // At most one tick behind the span the catch-up covered; what came due while it ran is the
    // pacing thread's, whose timing a loaded machine (or TSan) stretches, so it is not asserted.
    EXPECT_GT(latest->time_ms + 2000, c.epoch_ms + report.simulated_ms);

    // The same bytes, in the same order, as the world run straight through.
    const auto got = pub.all();
    Capture ref_pub;
    World ref(c, ref_pub);
    while (ref_pub.count() < got.size()) ref.advance();
    const auto want = ref_pub.all();
    for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i]->bytes, want[i]->bytes) << "message " << i;
}

TEST(SimulatorSource, ClockStartStopsCatchingUpAtStopAfter) {
    SimConfig c;
    c.time_scale = 20;
    c.clock_start_ms = wall_now_ms() - 30'000;
    c.stop_after_ms = 10'000;
    Capture pub;
    SimulatorSource source(c);
    source.start(pub);
    ASSERT_GT(pub.count(), 0u);
    // The thread finds nothing left to publish within the stop.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!source.finished() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    source.stop();
    EXPECT_TRUE(source.finished());
    for (const auto& m : pub.all()) EXPECT_LE(m->time_ms, c.epoch_ms + 10'000);
}

TEST(SimulatorSource, ClockStartAheadPublishesNothingBeforeItIsDue) {
    SimConfig c;
    c.time_scale = 1;
    c.clock_start_ms = wall_now_ms() + 60'000;
    Capture pub;
    SimulatorSource source(c);
    source.start(pub);
    source.stop();
    EXPECT_EQ(pub.count(), 0u);
    EXPECT_EQ(source.catch_up().messages, 0u);
    EXPECT_EQ(pub.hub().clock().wall_us, *c.clock_start_ms * 1000);
}

TEST(ClockStart, ValidationNamesTheOption) {
    const std::int64_t now = wall_now_ms();
    SimConfig c;
    c.time_scale = 20;
    c.clock_start_ms = now - 60'000;
    EXPECT_NO_THROW(validate_clock_start(c, now));
    c.clock_start_ms = now + 1000;  // a little ahead: a planned start
    EXPECT_NO_THROW(validate_clock_start(c, now));

    auto refused = [&](SimConfig bad) {
        try {
            validate_clock_start(bad, now);
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    SimConfig ahead = c, behind = c, unpaced = c, negative = c;
    ahead.clock_start_ms = now + kMaxClockStartAheadMs + 1000;
    behind.clock_start_ms = now - 2 * kMaxCatchUpMs / 20;  // two days of simulated time at 20x
    unpaced.time_scale = 0;
    negative.clock_start_ms = -5;
    for (const auto& bad : {ahead, behind, unpaced, negative}) {
        const auto what = refused(bad);
        EXPECT_NE(what.find("--clock-start"), std::string::npos) << what;
    }
    // A far-back start with a stop within reach is fine: the catch-up ends at the stop.
    behind.stop_after_ms = 60'000;
    EXPECT_EQ(refused(behind), "");
}

}  // namespace
}  // namespace streambed::simulator
