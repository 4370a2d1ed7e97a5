// gathered_write_test.cpp: plain connections write every frame queued in a turn with one
// sendmsg, from the messages' pre-encoded headers — the bytes on the wire are unchanged, Beast's
// own frames (pongs) stay whole when a gathered write is part-way out, and a backlog leaves in
// far fewer system calls than frames.
#include <gtest/gtest.h>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

engine::ServerOptions backlog_options() {
    auto o = test_options();
    o.outbound_limit_bytes = 64 << 20;
    o.history = 20000;
    o.socket_send_buffer = 32 << 10;  // so the socket fills and a backlog builds
    return o;
}

std::string payload(std::uint64_t n, std::size_t size) {
    return fmt::format(R"({{"n":{},"pad":"{}"}})", n, std::string(size, 'x'));
}

// Transactions 1..count on `tx`, each padded with `pad` bytes.
void publish_transactions(TestServer& srv, engine::StreamId tx, std::uint64_t count,
                          std::size_t pad) {
    for (std::uint64_t n = 1; n <= count; ++n)
        srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n), payload(n, pad));
}

WsClient subscribed(TestServer& srv, const std::string& target) {
    WsClient c(srv.port(), target);
    c.read_json();
    c.send(R"({"action":"subscribe","channels":["ch-1"]})");
    c.read_until_type("subscribed");
    return c;
}

TEST(GatheredWrite, FrameLengthsAtEveryHeaderSizeArriveIntact) {
    TestServer srv;
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    WsClient c = subscribed(srv, "/ws/transactions");
    // Payload lengths on both sides of the 7-bit, 16-bit and 64-bit length encodings.
    const std::size_t base =
        srv.publish(tx, MessageType::transaction, 1, payload(1, 0))->bytes.size();
    std::vector<std::string> sent;
    for (std::size_t target : {std::size_t{125}, std::size_t{126}, std::size_t{127},
                               std::size_t{65535}, std::size_t{65536}, std::size_t{200000}}) {
        const auto n = sent.size() + 2;
        const std::size_t pad = target - base - (std::to_string(n).size() - 1);
        sent.push_back(
            srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n), payload(n, pad))
                ->bytes);
        ASSERT_EQ(sent.back().size(), target);
    }
    EXPECT_EQ(c.read_json()["seq"], 1);
    for (const auto& expected : sent) EXPECT_EQ(c.read_text(), expected);
}

TEST(GatheredWrite, BacklogLeavesInFewWritesWithEveryFrameInOrder) {
    TestServer srv(backlog_options());
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    WsClient plain = subscribed(srv, "/ws/transactions");
    const auto before = websocket_stats(srv.port());
    constexpr std::uint64_t kCount = 3000;
    publish_transactions(srv, tx, kCount, 1000);
    for (std::uint64_t seq = 1; seq <= kCount; ++seq) ASSERT_EQ(plain.read_json()["seq"], seq);
    ASSERT_TRUE(wait_until([&] {
        return websocket_stats(srv.port())["framesSent"] >=
               before["framesSent"].get<std::uint64_t>() + kCount;
    }));
    const auto after = websocket_stats(srv.port());
    const auto frames =
        after["framesSent"].get<std::uint64_t>() - before["framesSent"].get<std::uint64_t>();
    const auto writes =
        after["socketWrites"].get<std::uint64_t>() - before["socketWrites"].get<std::uint64_t>();
    EXPECT_EQ(frames, kCount);
    // Once the socket is full, each write gathers what queued meanwhile (up to 128 frames).
    EXPECT_GT(writes, 0u);
    EXPECT_LT(writes * 4, frames) << writes << " writes for " << frames << " frames";
}

TEST(GatheredWrite, PongsStayWholeWhileAGatheredWriteIsPartWayOut) {
    TestServer srv(backlog_options());
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    WsClient c = subscribed(srv, "/ws/transactions");
    constexpr std::uint64_t kCount = 2000;
    publish_transactions(srv, tx, kCount, 1000);
    // The socket is full and the session's write waits part-way: Beast's pongs must wait for it.
    ASSERT_TRUE(wait_until(
        [&] { return websocket_stats(srv.port())["queuedBytes"].get<std::uint64_t>() > 0; }));
    for (const char* p : {"p1", "p2", "p3"}) c.ping(p);
    for (std::uint64_t seq = 1; seq <= kCount; ++seq) ASSERT_EQ(c.read_json()["seq"], seq);
    // The protocol's pong comes after the WebSocket pongs, which were answered first.
    c.send(R"({"action":"ping","id":9})");
    EXPECT_EQ(c.read_until_type("pong")["id"], 9);
    EXPECT_EQ(c.pongs_received(), (std::vector<std::string>{"p1", "p2", "p3"}));
}

TEST(GatheredWrite, BatchClientsGetOneArrayFramePerWrite) {
    TestServer srv(backlog_options());
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    WsClient c = subscribed(srv, "/ws/transactions?batch=1");
    constexpr std::uint64_t kCount = 2000;
    publish_transactions(srv, tx, kCount, 100);
    std::uint64_t seq = 0, frames = 0;
    while (seq < kCount) {
        auto j = c.read_json();
        ++frames;
        if (!j.is_array()) j = json::array({j});
        for (auto& m : j) ASSERT_EQ(m["seq"], ++seq);
    }
    // One frame per message without batching; how many a write gathers depends on how far the
    // publisher runs ahead of the I/O thread: 5 or more on average alone, 3.5 under ASan with
    // a build beside it.
    EXPECT_LT(frames * 2, kCount);
}

TEST(GatheredWrite, BatchArraysHoldDataOnlyAndTheWelcomeComesAlone) {
    TestServer srv(backlog_options());
    auto m = srv.declare(Endpoint::metrics, "metrics");
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    srv.publish_n(m, MessageType::metrics, 1);
    // The welcome and the snapshot are queued in the same turn; they still leave as two frames.
    WsClient metrics(srv.port(), "/ws/metrics?batch=1");
    const auto welcome = metrics.read_json();
    ASSERT_TRUE(welcome.is_object());
    EXPECT_EQ(welcome["type"], "welcome");
    EXPECT_EQ(metrics.read_json()["seq"], 1);
    // Control replies between data messages keep frames of their own.
    WsClient c = subscribed(srv, "/ws/transactions?batch=1");
    for (std::uint64_t n = 1; n <= 500; ++n) {
        srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n), payload(n, 100));
        if (n % 100 == 0) c.send(fmt::format(R"({{"action":"ping","id":{}}})", n));
    }
    std::uint64_t seq = 0, pongs = 0;
    while (seq < 500 || pongs < 5) {
        auto j = c.read_json();
        if (j.is_object() && j["type"] == "pong") {
            ++pongs;
            continue;
        }
        if (!j.is_array()) j = json::array({j});
        for (auto& msg : j) {
            ASSERT_EQ(msg["type"], "transaction") << "an array holds data messages only";
            ASSERT_EQ(msg["seq"], ++seq);
        }
    }
}

}  // namespace
}  // namespace streambed::testing
