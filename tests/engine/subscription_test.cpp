// subscription_test.cpp: subscribe, snapshot, "*", unsubscribe, resume with `since`, reset,
// and subscription churn while broadcasting (run under TSan by `make test-tsan`).
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

// A ping/pong round trip: everything the server queued before it has been read by then.
void barrier(WsClient& c, int id = 99) {
    c.send(fmt::format(R"({{"action":"ping","id":{}}})", id));
    while (true) {
        auto j = c.read_json();
        if (j["type"] == "pong") return;
        ADD_FAILURE() << "unexpected message before pong: " << j.dump();
    }
}

struct ChannelsFixture : ::testing::Test {
    TestServer srv;
    engine::StreamId ch1 = srv.declare(Endpoint::channels, "ch-1");
    engine::StreamId ch2 = srv.declare(Endpoint::channels, "ch-2");

    WsClient connect() {
        WsClient c(srv.port(), "/ws/channels");
        EXPECT_EQ(c.read_json()["type"], "welcome");
        return c;
    }
};

TEST_F(ChannelsFixture, NoDataBeforeSubscribe) {
    auto c = connect();
    srv.publish_n(ch1, MessageType::channel_update, 1);
    barrier(c);
}

TEST_F(ChannelsFixture, SubscribeSendsSubscribedThenTheSnapshotOfStates) {
    srv.publish_n(ch1, MessageType::channel_update, 1);
    auto snap = srv.publish_n(ch1, MessageType::channel_update, 2);
    srv.publish_n(ch1, MessageType::block, 3);  // an event: never a snapshot
    auto c = connect();
    c.send(R"({"action":"subscribe","channels":["ch-1"]})");
    EXPECT_EQ(c.read_text(), R"({"type":"subscribed","channels":["ch-1"]})");
    EXPECT_EQ(c.read_text(), snap->bytes);
    auto live = srv.publish_n(ch1, MessageType::block, 4);
    EXPECT_EQ(c.read_text(), live->bytes);
}

TEST_F(ChannelsFixture, EventStreamsHaveNoSnapshot) {
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    srv.publish_n(tx, MessageType::transaction, 1);
    WsClient c(srv.port(), "/ws/transactions");
    c.read_json();
    c.send(R"({"action":"subscribe","channels":["ch-1"]})");
    EXPECT_EQ(c.read_json()["type"], "subscribed");
    barrier(c);
    auto live = srv.publish_n(tx, MessageType::transaction, 2);
    EXPECT_EQ(c.read_text(), live->bytes);
}

TEST_F(ChannelsFixture, SubscribingTwiceCausesNoDuplicate) {
    auto c = connect();
    c.send(R"({"action":"subscribe","channels":["ch-1"]})");
    c.read_until_type("subscribed");
    c.send(R"({"action":"subscribe","channels":["ch-1","ch-1"]})");
    EXPECT_EQ(c.read_json()["channels"], json::parse(R"(["ch-1"])"));
    auto m = srv.publish_n(ch1, MessageType::block, 1);
    EXPECT_EQ(c.read_text(), m->bytes);
    barrier(c);  // and nothing else
}

TEST_F(ChannelsFixture, UnknownChannelsAreNamedAndKnownOnesStillSubscribed) {
    auto c = connect();
    c.send(R"({"action":"subscribe","channels":["ch-1","nope","ch-9"]})");
    auto err = c.read_json();
    EXPECT_EQ(err["type"], "error");
    EXPECT_EQ(err["code"], "unknown_channel");
    EXPECT_NE(err["message"].get<std::string>().find("nope"), std::string::npos);
    EXPECT_NE(err["message"].get<std::string>().find("ch-9"), std::string::npos);
    EXPECT_EQ(c.read_json()["channels"], json::parse(R"(["ch-1"])"));
    auto m = srv.publish_n(ch1, MessageType::block, 1);
    EXPECT_EQ(c.read_text(), m->bytes);
}

TEST_F(ChannelsFixture, WildcardCoversPresentAndFutureChannels) {
    auto c = connect();
    c.send(R"({"action":"subscribe","channels":["*"]})");
    EXPECT_EQ(c.read_json()["channels"], json::parse(R"(["*"])"));
    auto a = srv.publish_n(ch2, MessageType::block, 1);
    EXPECT_EQ(c.read_text(), a->bytes);
    auto ch3 = srv.declare(Endpoint::channels, "ch-3");
    auto b = srv.publish_n(ch3, MessageType::block, 1);
    auto b2 = srv.publish_n(ch3, MessageType::block, 2);
    EXPECT_EQ(c.read_text(), b->bytes);
    EXPECT_EQ(c.read_text(), b2->bytes);
}

TEST_F(ChannelsFixture, UnsubscribeStopsDelivery) {
    auto c = connect();
    c.send(R"({"action":"subscribe","channels":["ch-1","ch-2"]})");
    c.read_until_type("subscribed");
    c.send(R"({"action":"unsubscribe","channels":["ch-1"]})");
    EXPECT_EQ(c.read_text(), R"({"type":"unsubscribed","channels":["ch-1"]})");
    srv.publish_n(ch1, MessageType::block, 1);
    auto kept = srv.publish_n(ch2, MessageType::block, 1);
    EXPECT_EQ(c.read_text(), kept->bytes);
    barrier(c);
    c.send(R"({"action":"unsubscribe","channels":["*"]})");
    c.read_until_type("unsubscribed");
    srv.publish_n(ch2, MessageType::block, 2);
    barrier(c);
}

TEST_F(ChannelsFixture, ResumeAfterForcedDisconnectHasNoGapAndNoRepeat) {
    std::uint64_t last = 0;
    {
        auto c = connect();
        c.send(R"({"action":"subscribe","channels":["ch-1"]})");
        c.read_until_type("subscribed");
        for (std::uint64_t n = 1; n <= 10; ++n) srv.publish_n(ch1, MessageType::block, n);
        for (int i = 0; i < 6; ++i) last = c.read_json()["seq"];
    }  // dropped without a close handshake after seq 6; 7..10 were missed
    for (std::uint64_t n = 11; n <= 15; ++n) srv.publish_n(ch1, MessageType::block, n);
    auto c = connect();
    c.send(
        json{{"action", "subscribe"}, {"channels", {"ch-1"}}, {"since", {{"ch-1", last}}}}.dump());
    auto sub = c.read_json();
    EXPECT_EQ(sub["recovered"]["ch-1"], true);
    std::thread more([&] {
        for (std::uint64_t n = 16; n <= 40; ++n) srv.publish_n(ch1, MessageType::block, n);
    });
    for (std::uint64_t seq = last + 1; seq <= 40; ++seq) ASSERT_EQ(c.read_json()["seq"], seq);
    more.join();
    barrier(c);
}

TEST(Resume, ResetWhenTheResumePointLeftHistory) {
    auto o = test_options();
    o.history = 5;
    TestServer srv(o);
    auto ch1 = srv.declare(Endpoint::channels, "ch-1");
    for (std::uint64_t n = 1; n <= 20; ++n)
        srv.publish_n(ch1, n % 2 ? MessageType::block : MessageType::channel_update, n);
    WsClient c(srv.port(), "/ws/channels");
    c.read_json();
    c.send(R"({"action":"subscribe","channels":["ch-1"],"since":{"ch-1":3}})");
    auto sub = c.read_json();
    EXPECT_EQ(sub["recovered"]["ch-1"], false);
    auto reset = c.read_json();
    EXPECT_EQ(
        reset,
        json::parse(R"({"type":"reset","channel":"ch-1","seq":20,"reason":"history_exceeded"})"));
    EXPECT_EQ(c.read_json()["seq"], 20);  // the snapshot: latest channel_update
    srv.publish_n(ch1, MessageType::block, 21);
    EXPECT_EQ(c.read_json()["seq"], 21);
}

TEST(Resume, SinceBeyondTheNewestSeqIsAReset) {
    // A client resuming against a restarted server holds a seq the server never reached.
    TestServer srv;
    auto ch1 = srv.declare(Endpoint::channels, "ch-1");
    srv.publish_n(ch1, MessageType::channel_update, 1);
    WsClient c(srv.port(), "/ws/channels");
    c.read_json();
    c.send(R"({"action":"subscribe","channels":["ch-1"],"since":{"ch-1":500}})");
    EXPECT_EQ(c.read_json()["recovered"]["ch-1"], false);
    EXPECT_EQ(
        c.read_json(),
        json::parse(R"({"type":"reset","channel":"ch-1","seq":1,"reason":"history_exceeded"})"));
    EXPECT_EQ(c.read_json()["seq"], 1);
}

TEST(Resume, SinceWithinHistoryOnAnAutoSubscribedEndpointReplays) {
    TestServer srv;
    auto m = srv.declare(Endpoint::metrics, "metrics");
    for (std::uint64_t n = 1; n <= 5; ++n) srv.publish_n(m, MessageType::metrics, n);
    WsClient c(srv.port(), "/ws/metrics");
    c.read_json();
    EXPECT_EQ(c.read_json()["seq"], 5);  // snapshot on open
    c.send(R"({"action":"subscribe","channels":["metrics"],"since":{"metrics":2}})");
    EXPECT_EQ(c.read_json()["recovered"]["metrics"], true);
    for (std::uint64_t seq = 3; seq <= 5; ++seq) EXPECT_EQ(c.read_json()["seq"], seq);
    srv.publish_n(m, MessageType::metrics, 6);
    EXPECT_EQ(c.read_json()["seq"], 6);
}

// Subscribers come and go on both I/O threads while the source publishes; a steady subscriber
// sees every seq exactly once, and each churning client's deliveries are in order.
TEST(Churn, SubscribeUnsubscribeWhileBroadcasting) {
    TestServer srv;
    auto ch1 = srv.declare(Endpoint::channels, "ch-1");
    WsClient steady(srv.port(), "/ws/channels");
    steady.read_json();
    steady.send(R"({"action":"subscribe","channels":["ch-1"]})");
    steady.read_until_type("subscribed");

    constexpr std::uint64_t kMessages = 2000;
    constexpr int kChurners = 3;
    // Publishing starts once every churner is connected: the churn overlaps the broadcast.
    std::latch connected(kChurners);
    std::thread publisher([&] {
        connected.wait();
        for (std::uint64_t n = 1; n <= kMessages; ++n) srv.publish_n(ch1, MessageType::block, n);
    });
    std::vector<std::thread> churners;
    std::atomic<int> failures{0};
    for (int t = 0; t < kChurners; ++t) {
        churners.emplace_back([&] {
            WsClient c(srv.port(), "/ws/channels");
            c.read_json();
            connected.count_down();
            for (int round = 0; round < 30; ++round) {
                c.send(R"({"action":"subscribe","channels":["ch-1","*"]})");
                c.send(R"({"action":"unsubscribe","channels":["*"]})");
            }
            // Drain until the last unsubscribed; seqs must only grow between subscriptions.
            std::uint64_t last = 0;
            int unsubscribed = 0;
            while (unsubscribed < 30) {
                auto j = c.read_json();
                if (j["type"] == "unsubscribed")
                    ++unsubscribed, last = 0;
                else if (j["type"] == "block") {
                    if (j["seq"].get<std::uint64_t>() <= last) ++failures;
                    last = j["seq"];
                }
            }
        });
    }
    for (std::uint64_t seq = 1; seq <= kMessages; ++seq) ASSERT_EQ(steady.read_json()["seq"], seq);
    publisher.join();
    for (auto& t : churners) t.join();
    EXPECT_EQ(failures, 0);
    // Every churned subscription was released.
    EXPECT_TRUE(wait_until([&] {
        return http_get(srv.port(), "/api/v11/websocket/stats").body_json()["totalSubscriptions"] ==
               1;
    }));
}

}  // namespace
}  // namespace streambed::testing
