// simulator_test.cpp: SimulatorSource's world shape (streams, clock, sizes, stopping) and its
// determinism (same seed, same bytes; pacing changes no byte). The spec's rules:
// consistency_test.cpp.
#include "simulator/simulator_source.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/hub.hpp"
#include "tests/simulator/publish_log.hpp"

namespace streambed::simulator {
using json = nlohmann::json;

namespace {

using engine::Endpoint;
using engine::MessagePtr;
using engine::MessageType;
using engine::StreamId;

// ---- the world's shape --------------------------------------------------------------------

TEST(SimulatorSource, DeclaresTheSpecStreams) {
    PublishLog rec;
    ASSERT_NO_FATAL_FAILURE(run_to_end(fast(42, 10'000), rec));
    std::set<std::pair<Endpoint, std::string>> got, want;
    for (auto& s : rec.streams()) got.insert({s.endpoint, s.channel});
    for (int i = 1; i <= 8; ++i) {
        want.insert({Endpoint::channels, "ch-" + std::to_string(i)});
        want.insert({Endpoint::transactions, "ch-" + std::to_string(i)});
    }
    for (int i = 1; i <= 7; ++i) want.insert({Endpoint::validators, "val-" + std::to_string(i)});
    want.insert({Endpoint::consensus, "consensus"});
    want.insert({Endpoint::network, "network"});
    want.insert({Endpoint::metrics, "metrics"});
    EXPECT_EQ(got, want);
    EXPECT_EQ(rec.streams().size(), want.size());
}

TEST(SimulatorSource, AnnouncesItsClock) {
    PublishLog rec;
    SimConfig c = fast(42, 4000);
    c.epoch_ms = 1'600'000'000'000;
    ASSERT_NO_FATAL_FAILURE(run_to_end(c, rec));
    EXPECT_EQ(rec.clock_sets(), 1);
    EXPECT_EQ(rec.clock().sim_ms, 1'600'000'000'000);
    EXPECT_GT(rec.clock().wall_us, 0);
    for (auto& m : rec.all()) {
        EXPECT_GT(m->time_ms, c.epoch_ms);
        EXPECT_LE(m->time_ms, c.epoch_ms + 4000);
    }
}

TEST(SimulatorSource, ConfiguredSizesAreHonoured) {
    PublishLog rec;
    SimConfig c = fast(5, 4000);
    c.channels = 3;
    c.validators = 4;
    ASSERT_NO_FATAL_FAILURE(run_to_end(c, rec));
    std::map<Endpoint, std::set<std::string>> channels;
    for (auto& s : rec.streams()) channels[s.endpoint].insert(s.channel);
    EXPECT_EQ(channels[Endpoint::channels], (std::set<std::string>{"ch-1", "ch-2", "ch-3"}));
    EXPECT_EQ(channels[Endpoint::transactions], (std::set<std::string>{"ch-1", "ch-2", "ch-3"}));
    EXPECT_EQ(channels[Endpoint::validators],
              (std::set<std::string>{"val-1", "val-2", "val-3", "val-4"}));
}

TEST(SimulatorSource, StopEndsAPacedRunPromptly) {
    PublishLog rec;
    SimConfig c;
    c.time_scale = 1.0;  // real time, no end: only stop() ends it
    // Nothing is due for an hour after the first states: a stop() that waited for the next event
    // would take that hour, so a generous bound tells the two apart on any machine.
    c.tx_per_second = 0;
    c.first_block_ms = 3600000;
    c.block_interval_ms = 3600000;
    c.state_interval_ms = 3600000;
    SimulatorSource source(c);
    source.start(rec);
    const auto before = std::chrono::steady_clock::now();
    source.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(60));
    EXPECT_FALSE(source.finished());
    const auto published = rec.all().size();
    EXPECT_LT(published, 10u) << "a real-time run published ahead of time";
}

// ---- determinism --------------------------------------------------------------------------

TEST(SimulatorSource, SameSeedGivesByteIdenticalStreams) {
    PublishLog a, b;
    ASSERT_NO_FATAL_FAILURE(run_to_end(fast(42, 120'000), a));
    ASSERT_NO_FATAL_FAILURE(run_to_end(fast(42, 120'000), b));
    const auto sa = a.bytes_by_stream(), sb = b.bytes_by_stream();
    ASSERT_EQ(sa.size(), 26u);
    for (auto& [stream, bytes] : sa) {
        SCOPED_TRACE(stream);
        ASSERT_TRUE(sb.count(stream));
        ASSERT_FALSE(bytes.empty());
        EXPECT_EQ(bytes, sb.at(stream));
    }
    EXPECT_EQ(sa, sb);
    // The interleaving across streams is the same too.
    ASSERT_EQ(a.all().size(), b.all().size());
    for (std::size_t i = 0; i < a.all().size(); ++i)
        ASSERT_EQ(a.all()[i]->bytes, b.all()[i]->bytes) << "message " << i;
}

TEST(SimulatorSource, PacingDoesNotChangeTheBytes) {
    PublishLog fast_rec, paced_rec;
    ASSERT_NO_FATAL_FAILURE(run_to_end(fast(7, 20'000), fast_rec));
    SimConfig paced = fast(7, 20'000);
    paced.time_scale = 400;  // 20 simulated seconds in 50 wall ms
    ASSERT_NO_FATAL_FAILURE(run_to_end(paced, paced_rec));
    EXPECT_EQ(fast_rec.bytes_by_stream(), paced_rec.bytes_by_stream());
    EXPECT_EQ(paced_rec.clock().scale, 400);
}

TEST(SimulatorSource, AnotherSeedGivesADifferentWorld) {
    PublishLog a, b;
    ASSERT_NO_FATAL_FAILURE(run_to_end(fast(42, 60'000), a));
    ASSERT_NO_FATAL_FAILURE(run_to_end(fast(43, 60'000), b));
    const auto sa = a.bytes_by_stream(), sb = b.bytes_by_stream();
    EXPECT_NE(sa, sb);
    // Not a stray byte: the random parts of the world differ stream by stream.
    for (std::string stream : {"/ws/transactions ch-1", "/ws/channels ch-1", "/ws/validators val-1",
                               "/ws/network network", "/ws/metrics metrics"}) {
        EXPECT_NE(sa.at(stream), sb.at(stream)) << stream;
    }
}

}  // namespace
}  // namespace streambed::simulator
