// flood_test.cpp: the benchmark flood at saturation is paced by the server's backlog — a client
// that stops reading holds the flood back instead of filling its queue to conflation or 1013;
// its clock anchor, and its epoch, new at every start.
#include <gtest/gtest.h>

#include "simulator/flood_source.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

TEST(FloodSource, SaturationWaitsForTheServerInsteadOfFillingQueues) {
    auto o = test_options();
    o.outbound_limit_bytes = 64 << 20;  // far above the flood's own bound
    o.socket_send_buffer = 32 << 10;
    TestServer srv(o);
    simulator::FloodSource flood(simulator::SimConfig{}, std::nullopt);
    flood.start(srv.server().publisher());
    WsClient stalled(srv.port(), "/ws/metrics");  // subscribed on open, then it stops reading

    constexpr auto kBound = simulator::FloodSource::kMaxQueuedBytes;
    std::uint64_t most = 0;
    // The stalled client's queue fills up to the flood's bound, and no further.
    ASSERT_TRUE(wait_until(
        [&] {
            most = std::max<std::uint64_t>(most, websocket_stats(srv.port())["queuedBytes"]);
            return most >= kBound / 2;
        },
        std::chrono::seconds(20)));
    for (int i = 0; i < 50; ++i)
        most = std::max<std::uint64_t>(most, websocket_stats(srv.port())["queuedBytes"]);
    const auto s = websocket_stats(srv.port());
    EXPECT_LE(most, kBound + (1 << 20)) << "one burst past the bound at most";
    EXPECT_EQ(s["conflated"], 0);
    EXPECT_EQ(s["slowConsumerCloses"], 0);

    // Reading again, the client gets every message in order (nothing was conflated), past what
    // was queued, so the flood went on.
    ASSERT_EQ(stalled.read_json()["type"], "welcome");
    std::uint64_t last = 0;
    const std::uint64_t queued_messages = most / 200 + 1000;  // a metrics message is > 200 bytes
    for (std::uint64_t i = 0; i < queued_messages; ++i) {
        const auto seq = stalled.read_json()["seq"].get<std::uint64_t>();
        if (last) {
            ASSERT_EQ(seq, last + 1);
        }
        last = seq;
    }
    EXPECT_GT(websocket_stats(srv.port())["messagesPublished"].get<std::uint64_t>(),
              s["messagesPublished"].get<std::uint64_t>());
    flood.stop();
}

// The flood's simulated time is the wall clock: the anchor pairs a whole millisecond with the
// instant it began, so a due instant computed from it is never late by the sub-millisecond (and
// lateness never reads low). So does the hub's own anchor, before any source sets one.
TEST(FloodSource, ClockAnchorIsAWholeMillisecondAndItsInstant) {
    for (int i = 0; i < 5; ++i) {
        TestServer srv;
        const auto before = srv.hub().clock();
        EXPECT_EQ(before.wall_us, before.sim_ms * 1000);
        simulator::FloodSource flood(simulator::SimConfig{}, 1.0);
        flood.start(srv.server().publisher());
        const auto anchor = srv.hub().clock();
        EXPECT_EQ(anchor.wall_us, anchor.sim_ms * 1000);
        EXPECT_EQ(anchor.scale, 1.0);
        flood.stop();
    }
}

// Its messages carry wall-clock stamps, so every start names a world of its own.
TEST(FloodSource, EveryStartHasAFreshEpoch) {
    std::vector<std::string> epochs;
    for (int i = 0; i < 2; ++i) {
        TestServer srv;
        simulator::FloodSource flood(simulator::SimConfig{}, 1.0);
        flood.start(srv.server().publisher());
        epochs.push_back(srv.hub().epoch());
        flood.stop();
        EXPECT_TRUE(epochs.back().starts_with("flood-")) << epochs.back();
    }
    EXPECT_NE(epochs[0], epochs[1]);
}

}  // namespace
}  // namespace streambed::testing
