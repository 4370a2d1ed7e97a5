// proxy_ws_test.cpp: the WebSocket-aware impairments against the real streambed server —
// drop_after_frames, hold_stream — and byte-identical deliveries with the same seed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/impairment_proxy.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using namespace std::chrono_literals;
using engine::Endpoint;
using engine::MessageType;
using proxy::Direction;
using proxy::Impairment;

proxy::ProxyOptions through(std::uint16_t upstream, std::uint64_t seed = 42) {
    proxy::ProxyOptions o;
    o.upstream_port = upstream;
    o.seed = seed;
    return o;
}

TEST(ProxyWebSocket, DropAfterFramesResetsAfterTheNthServerFrame) {
    TestServer srv;
    auto metrics = srv.declare(Endpoint::metrics, "metrics");
    proxy::ImpairmentProxy p(through(srv.port()));
    p.start();
    Impairment drop;
    drop.name = "drop";
    drop.direction = Direction::downstream;
    drop.drop_after_frames = 3;
    p.add(drop);
    WsClient c(p.port(), "/ws/metrics", 3s);
    EXPECT_EQ(c.read_json()["type"], "welcome");  // frame 1
    std::vector<std::string> sent;
    for (int n = 1; n <= 5; ++n)
        sent.push_back(srv.publish_n(metrics, MessageType::metrics, n)->bytes);
    EXPECT_EQ(c.read_text(), sent[0]);  // frame 2
    EXPECT_EQ(c.read_text(), sent[1]);  // frame 3
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(c.read()) << "nothing after the third frame";
    EXPECT_TRUE(c.closed());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << "cut at once, not a read timing out";
    EXPECT_TRUE(wait_until([&] { return p.stats().resets == 1; }));
}

TEST(ProxyWebSocket, HoldStreamHoldsOneChannelUntilRemoved) {
    TestServer srv;
    auto ch1 = srv.declare(Endpoint::channels, "ch-1");
    auto ch2 = srv.declare(Endpoint::channels, "ch-2");
    proxy::ImpairmentProxy p(through(srv.port()));
    p.start();
    WsClient c(p.port(), "/ws/channels", 3s);
    EXPECT_EQ(c.read_json()["type"], "welcome");
    c.send(R"({"action":"subscribe","channels":["ch-1","ch-2"]})");
    EXPECT_EQ(c.read_json()["type"], "subscribed");
    Impairment hold;
    hold.name = "hold";
    hold.hold_stream = "ch-1";
    p.add(hold);
    const auto m1 = srv.publish_n(ch1, MessageType::block, 1)->bytes;
    const auto m2 = srv.publish_n(ch2, MessageType::block, 1)->bytes;
    // Published first, m1 would arrive first: ch-2 flows past the held ch-1.
    EXPECT_EQ(c.read_text(), m2);
    const auto m2b = srv.publish_n(ch2, MessageType::block, 2)->bytes;
    EXPECT_EQ(c.read_text(), m2b);
    ASSERT_TRUE(p.remove("hold"));
    EXPECT_EQ(c.read_text(), m1);
    const auto m3 = srv.publish_n(ch1, MessageType::block, 2)->bytes;
    EXPECT_EQ(c.read_text(), m3);
}

struct RunResult {
    std::vector<std::string> received[2];
    std::vector<std::int64_t> schedule[2];
};

RunResult jittered_fleet_run(std::uint64_t seed) {
    RunResult r;
    TestServer srv;
    auto metrics = srv.declare(Endpoint::metrics, "metrics");
    proxy::ImpairmentProxy p(through(srv.port(), seed));
    p.start();
    Impairment j;
    j.name = "jitter";
    j.latency = 1ms;
    j.jitter = 3ms;
    p.add(j);
    const std::string keys[2] = {"fleet/0/0", "fleet/1/0"};
    WsClient a(p.port(), "/ws/metrics", 5s, {{"X-Streambed-Client", keys[0]}});
    WsClient b(p.port(), "/ws/metrics", 5s, {{"X-Streambed-Client", keys[1]}});
    EXPECT_EQ(a.read_json()["type"], "welcome");
    EXPECT_EQ(b.read_json()["type"], "welcome");
    for (int n = 1; n <= 20; ++n)
        srv.publish_n(metrics, MessageType::metrics, static_cast<std::uint64_t>(n));
    for (int n = 1; n <= 20; ++n) {
        r.received[0].push_back(a.read_text());
        r.received[1].push_back(b.read_text());
    }
    for (int k = 0; k < 2; ++k) r.schedule[k] = p.schedule(keys[k], Direction::downstream);
    return r;
}

TEST(ProxyWebSocket, SameSeedSameBytesAndScheduleForEachClient) {
    const auto first = jittered_fleet_run(11);
    const auto second = jittered_fleet_run(11);
    const auto other = jittered_fleet_run(12);
    for (int k = 0; k < 2; ++k) {
        ASSERT_EQ(first.received[k].size(), 20u);
        EXPECT_EQ(first.received[k], second.received[k]) << "client " << k;
        for (std::size_t n = 0; n < 20; ++n)  // in order: no reordering however the delays fall
            EXPECT_EQ(nlohmann::json::parse(first.received[k][n])["seq"], n + 1);
        EXPECT_EQ(first.schedule[k].size(), 22u) << "the 101 response, the welcome, 20 data frames";
        EXPECT_EQ(first.schedule[k], second.schedule[k]) << "client " << k;
        EXPECT_NE(first.schedule[k], other.schedule[k]) << "client " << k;
    }
    EXPECT_NE(first.schedule[0], first.schedule[1]) << "each client key draws its own delays";
}

}  // namespace
}  // namespace streambed::testing
