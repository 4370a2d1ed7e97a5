// coalescing_test.cpp: adaptive coalescing on a real server — under a steady high rate the
// messages leave in far fewer writes than frames, all of them in order (the last held write
// too). When a message is not held is coalescer_test.cpp's.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

WsClient subscribed(TestServer& srv) {
    WsClient c(srv.port(), "/ws/transactions");
    c.read_json();
    c.send(R"({"action":"subscribe","channels":["ch-1"]})");
    c.read_until_type("subscribed");
    return c;
}

TEST(Coalescing, ASteadyHighRateLeavesInFewerWritesThanFramesEveryFrameInOrder) {
    auto o = test_options();
    o.threads = 1;
    o.coalesce_window = std::chrono::milliseconds(1);
    o.history = 10000;
    TestServer srv(o);
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    WsClient c = subscribed(srv);
    const auto frames_before = websocket_stat(srv.port(), "framesSent");
    const auto writes_before = websocket_stat(srv.port(), "socketWrites");
    const auto held_before = websocket_stat(srv.port(), "heldMessages");
    // 3,000 messages paced at 20,000 msg/s (a publisher's schedule, not a wait for the server).
    constexpr std::uint64_t kCount = 3000;
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t n = 1; n <= kCount; ++n) {
        std::this_thread::sleep_until(start + std::chrono::microseconds(50 * n));
        srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n),
                    R"({"n":)" + std::to_string(n) + "}");
    }
    // The last messages are held: they arrive when the window ends, in order.
    for (std::uint64_t seq = 1; seq <= kCount; ++seq) ASSERT_EQ(c.read_json()["seq"], seq);
    ASSERT_TRUE(wait_until(
        [&] { return websocket_stat(srv.port(), "framesSent") >= frames_before + kCount; }));
    const auto frames = websocket_stat(srv.port(), "framesSent") - frames_before;
    const auto writes = websocket_stat(srv.port(), "socketWrites") - writes_before;
    EXPECT_EQ(frames, kCount);
    // About 20 messages per 1 ms window; without holding, one write per frame.
    EXPECT_LT(writes * 4, frames) << writes << " writes for " << frames << " frames";
    // While a window holds, what is published waits in the shard's inbox for its end instead
    // of waking the I/O thread once per message: most of the 3,000 do on a quiet machine, 39 %
    // did with a sanitizer build beside (the publisher's pacing falls behind, in bursts); none
    // without the inbox.
    EXPECT_GT((websocket_stat(srv.port(), "heldMessages") - held_before) * 5, kCount);
}

}  // namespace
}  // namespace streambed::testing
