// send_ring_delivery_test.cpp: a delivery to many plain connections leaves in one io_uring
// submission (SendRing) with every client getting the same bytes; with io_uring off each
// connection writes on its own; connections that go away mid-delivery end alone.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/send_ring.hpp"

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

engine::ServerOptions ring_options(bool io_uring) {
    auto o = test_options();
    o.threads = 1;  // one shard: one delivery loop over every client
    o.io_uring = io_uring;
    o.coalesce_window = {};  // each message is delivered as it comes
    return o;
}

std::vector<std::unique_ptr<WsClient>> subscribers(TestServer& srv, std::size_t n) {
    std::vector<std::unique_ptr<WsClient>> clients;
    for (std::size_t i = 0; i < n; ++i) {
        clients.push_back(std::make_unique<WsClient>(srv.port(), "/ws/transactions"));
        clients.back()->read_json();
        clients.back()->send(R"({"action":"subscribe","channels":["ch-1"]})");
        clients.back()->read_until_type("subscribed");
    }
    return clients;
}

TEST(SendRingDelivery, ADeliveryToManyConnectionsLeavesInOneSubmissionWithTheSameBytes) {
    TestServer srv(ring_options(true));
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    auto clients = subscribers(srv, 40);
    const auto submissions = websocket_stat(srv.port(), "sendSubmissions");
    const auto writes = websocket_stat(srv.port(), "socketWrites");
    const auto sent = srv.publish(tx, MessageType::transaction, 1, padded_data(1, 200))->bytes;
    for (auto& c : clients) ASSERT_EQ(c->read_text(), sent);
    ASSERT_TRUE(
        wait_until([&] { return websocket_stat(srv.port(), "socketWrites") >= writes + 40; }));
    EXPECT_EQ(websocket_stat(srv.port(), "sendSubmissions"), submissions + 1);
}

// More subscribers than the ring holds: the send that fills it submits from inside the loop,
// and every connection — the one whose send filled the ring too — gets every later message.
TEST(SendRingDelivery, MoreConnectionsThanTheRingHoldsGetEveryMessage) {
    TestServer srv(ring_options(true));
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    auto clients = subscribers(srv, engine::kSendRingEntries + 44);
    for (std::uint64_t n = 1; n <= 4; ++n) {
        const auto sent = srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n),
                                      padded_data(n, 100))
                              ->bytes;
        for (std::size_t i = 0; i < clients.size(); ++i)
            ASSERT_EQ(clients[i]->read_text(), sent) << "client " << i << ", message " << n;
    }
}

TEST(SendRingDelivery, WithoutIoUringEachConnectionWritesOnItsOwn) {
    TestServer srv(ring_options(false));
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    auto clients = subscribers(srv, 40);
    const auto writes = websocket_stat(srv.port(), "socketWrites");
    for (std::uint64_t n = 1; n <= 20; ++n) {
        const auto sent = srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n),
                                      padded_data(n, 200))
                              ->bytes;
        for (auto& c : clients) ASSERT_EQ(c->read_text(), sent) << "message " << n;
    }
    ASSERT_TRUE(
        wait_until([&] { return websocket_stat(srv.port(), "socketWrites") >= writes + 40; }));
    EXPECT_EQ(websocket_stat(srv.port(), "sendSubmissions"), 0u);
}

TEST(SendRingDelivery, ConnectionsGoneMidStreamEndAloneAndTheOthersGetEverything) {
    TestServer srv(ring_options(true));
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    auto clients = subscribers(srv, 40);
    // Every other client goes away without a close handshake while messages flow.
    std::vector<std::unique_ptr<WsClient>> staying;
    for (std::size_t i = 0; i < clients.size(); ++i)
        if (i % 2 == 0) staying.push_back(std::move(clients[i]));
    std::vector<std::string> sent;
    for (std::uint64_t n = 1; n <= 200; ++n) {
        sent.push_back(srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n),
                                   padded_data(n, 300))
                           ->bytes);
        if (n == 5) clients.clear();
    }
    for (auto& c : staying)
        for (const auto& expected : sent) ASSERT_EQ(c->read_text(), expected);
    ASSERT_TRUE(wait_until(
        [&] { return websocket_stat(srv.port(), "activeConnections") == staying.size(); }));
    // The server goes on: a new client is welcomed and served.
    auto late = subscribers(srv, 1);
    const auto next = srv.publish(tx, MessageType::transaction, 201, padded_data(201, 10))->bytes;
    EXPECT_EQ(late.front()->read_text(), next);
    EXPECT_GT(websocket_stat(srv.port(), "sendSubmissions"), 0u);
}

}  // namespace
}  // namespace streambed::testing
