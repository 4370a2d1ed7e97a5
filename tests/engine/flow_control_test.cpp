// flow_control_test.cpp: a client that stops reading — bounded memory, conflation of states,
// close 1013 for events, resume without a silent gap; batching; heartbeat and idle timeout.
#include <gtest/gtest.h>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

constexpr std::size_t kLimit = 256 << 10;

engine::ServerOptions slow_options() {
    auto o = test_options();
    o.outbound_limit_bytes = kLimit;
    o.history = 20000;
    o.socket_send_buffer = 32 << 10;  // so back-pressure reaches the queue after little data
    return o;
}

TEST(SlowConsumer, StatesAreConflatedAndMemoryStaysBounded) {
    TestServer srv(slow_options());
    auto m = srv.declare(Endpoint::metrics, "metrics");
    WsClient c(srv.port(), "/ws/metrics");
    c.read_json();
    std::uint64_t n = 0;
    std::uint64_t max_queued = 0;
    // Publish until conflation has happened (bounded: 20,000 messages of 4 KiB).
    while (n < 20000 && websocket_stats(srv.port())["conflated"] == 0) {
        for (int i = 0; i < 100; ++i, ++n)
            srv.publish(m, MessageType::metrics, static_cast<std::int64_t>(n + 1),
                        padded_data(n + 1, 4096));
        max_queued =
            std::max<std::uint64_t>(max_queued, websocket_stats(srv.port())["queuedBytes"]);
    }
    auto s = websocket_stats(srv.port());
    EXPECT_GT(s["conflated"], 0);
    EXPECT_EQ(s["slowConsumerCloses"], 0);
    EXPECT_LE(max_queued, kLimit);
    // The client catches up: seqs only grow and it ends on the newest state.
    std::uint64_t last = 0;
    while (last < n) {
        auto j = c.read_json();
        ASSERT_GT(j["seq"].get<std::uint64_t>(), last);
        last = j["seq"];
    }
    EXPECT_EQ(last, n);
}

TEST(SlowConsumer, EventsOverflowCloses1013ThenResumeHasNoGap) {
    TestServer srv(slow_options());
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    WsClient bystander(srv.port(), "/ws/metrics");
    bystander.read_json();
    WsClient c(srv.port(), "/ws/transactions");
    c.read_json();
    c.send(R"({"action":"subscribe","channels":["ch-1"]})");
    c.read_until_type("subscribed");
    std::uint64_t n = 0;
    while (n < 15000 && websocket_stats(srv.port())["slowConsumerCloses"] == 0) {
        for (int i = 0; i < 100; ++i, ++n)
            srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n + 1),
                        padded_data(n + 1, 1024));
        EXPECT_LE(websocket_stats(srv.port())["queuedBytes"].get<std::uint64_t>(), kLimit);
    }
    ASSERT_EQ(websocket_stats(srv.port())["slowConsumerCloses"], 1);
    // The client reads what was sent before the close, then the close itself.
    std::uint64_t last = 0;
    while (auto text = c.read()) {
        auto j = json::parse(*text);
        ASSERT_EQ(j["seq"], last + 1);
        last = j["seq"];
    }
    EXPECT_EQ(c.close_code(), 1013);
    EXPECT_EQ(c.close_reason(), "slow consumer");
    EXPECT_EQ(websocket_stats(srv.port())["queuedBytes"], 0);
    // The bystander was not disturbed.
    bystander.send(R"({"action":"ping","id":1})");
    EXPECT_EQ(bystander.read_json()["type"], "pong");
    // Resume: everything after the last seq seen, no gap, no repeat.
    WsClient r(srv.port(), "/ws/transactions");
    r.read_json();
    r.send(
        json{{"action", "subscribe"}, {"channels", {"ch-1"}}, {"since", {{"ch-1", last}}}}.dump());
    EXPECT_EQ(r.read_json()["recovered"]["ch-1"], true);
    for (std::uint64_t seq = last + 1; seq <= n; ++seq) ASSERT_EQ(r.read_json()["seq"], seq);
}

TEST(Batching, BatchClientsGetArraysInOrderOthersSingleMessages) {
    auto o = test_options();
    o.outbound_limit_bytes = 64 << 20;
    o.socket_send_buffer = 32 << 10;
    TestServer srv(o);
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    WsClient batched(srv.port(), "/ws/transactions?batch=1"), plain(srv.port(), "/ws/transactions");
    for (auto* c : {&batched, &plain}) {
        c->read_json();
        c->send(R"({"action":"subscribe","channels":["ch-1"]})");
        c->read_until_type("subscribed");
    }
    // More than the kernel buffers hold: the queue must build up, and batches with it.
    constexpr std::uint64_t kCount = 3000;
    for (std::uint64_t n = 1; n <= kCount; ++n)
        srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n),
                    padded_data(n, 1000));
    std::uint64_t seq = 0, arrays = 0;
    while (seq < kCount) {
        auto j = batched.read_json();
        if (j.is_array()) {
            ++arrays;
            EXPECT_LE(j.size(), 256u);
            for (auto& m : j) ASSERT_EQ(m["seq"], ++seq);
        } else {
            ASSERT_EQ(j["seq"], ++seq);
        }
    }
    EXPECT_GT(arrays, 0u);
    for (std::uint64_t s = 1; s <= kCount; ++s) {
        auto j = plain.read_json();
        ASSERT_TRUE(j.is_object());
        ASSERT_EQ(j["seq"], s);
    }
}

TEST(Heartbeat, ServerPingsAndAnnouncesTheInterval) {
    auto o = test_options();
    o.heartbeat = std::chrono::milliseconds(50);
    TestServer srv(o);
    auto m = srv.declare(Endpoint::metrics, "metrics");
    WsClient c(srv.port(), "/ws/metrics");
    EXPECT_EQ(c.read_json()["heartbeatMs"], 50);
    // Keep a read pending (pings are seen only while reading) until a ping came in.
    std::atomic<bool> stop{false};
    std::thread feeder([&] {
        std::uint64_t n = 0;
        while (!stop) {
            srv.publish_n(m, MessageType::metrics, ++n);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a source's cadence
        }
    });
    const bool pinged = wait_until([&] {
        c.read();
        return c.pings_received() > 0;
    });
    stop = true;
    feeder.join();
    EXPECT_TRUE(pinged);
}

TEST(Heartbeat, SilentConnectionIsClosedAfterTheIdleTimeout) {
    auto o = test_options();
    o.heartbeat = std::chrono::milliseconds(50);
    TestServer srv(o);
    WsClient silent(srv.port(), "/ws/network");  // never reads, so never answers a ping
    EXPECT_TRUE(wait_until([&] { return websocket_stats(srv.port())["activeConnections"] == 1; }));
    EXPECT_TRUE(wait_until([&] { return websocket_stats(srv.port())["activeConnections"] == 0; }));
}

}  // namespace
}  // namespace streambed::testing
