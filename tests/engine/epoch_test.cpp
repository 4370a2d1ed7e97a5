// epoch_test.cpp: the stream epoch on the wire — in every welcome and poll reply, and a resume
// (WebSocket `since`, polling `since`) under another epoch answered with `reset`
// `epoch_changed` and the snapshot, never with `recovered:true`.
#include <gtest/gtest.h>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

constexpr const char* kEpoch = "sim-00000000000000aa";

// ch-1 with blocks 1..5, a channel_update at 6 (the snapshot), blocks 7..8; ch-2 with 1..3.
struct EpochFixture : ::testing::Test {
    EpochFixture() {
        srv.hub().set_epoch(kEpoch);
        for (std::uint64_t n = 1; n <= 8; ++n) {
            auto m =
                srv.publish_n(ch1, n == 6 ? MessageType::channel_update : MessageType::block, n);
            if (n == 6) snapshot = m->bytes;
        }
        for (std::uint64_t n = 1; n <= 3; ++n) srv.publish_n(ch2, MessageType::block, n);
    }
    WsClient connect() {
        WsClient c(srv.port(), "/ws/channels");
        welcome = c.read_json();
        EXPECT_EQ(welcome["type"], "welcome");
        return c;
    }
    TestServer srv;
    engine::StreamId ch1 = srv.declare(Endpoint::channels, "ch-1");
    engine::StreamId ch2 = srv.declare(Endpoint::channels, "ch-2");
    std::string snapshot;
    json welcome;
};

TEST_F(EpochFixture, WelcomeCarriesTheEpochAfterTheClock) {
    WsClient c(srv.port(), "/ws/metrics");
    const std::string text = c.read_text();
    EXPECT_NE(text.find(std::string(R"(},"epoch":")") + kEpoch + R"("})"), std::string::npos)
        << text;
    EXPECT_EQ(json::parse(text)["epoch"], kEpoch);
}

TEST(Epoch, AHubWithoutSourceHasARandomEpochOfItsOwn) {
    TestServer a, b;
    WsClient ca(a.port(), "/ws/metrics"), cb(b.port(), "/ws/metrics");
    const auto ea = ca.read_json()["epoch"], eb = cb.read_json()["epoch"];
    ASSERT_TRUE(ea.is_string());
    EXPECT_TRUE(ea.get<std::string>().starts_with("run-")) << ea;
    EXPECT_NE(ea, eb);
}

TEST_F(EpochFixture, ResumeUnderAForeignEpochIsResetWithTheSnapshot) {
    auto c = connect();
    c.send_json({{"action", "subscribe"},
                 {"channels", {"ch-1", "ch-2"}},
                 {"since", {{"ch-1", 4}, {"ch-2", 3}}},
                 {"epoch", "sim-ffffffffffffffff"}});
    const json sub = c.read_json();
    EXPECT_EQ(sub["recovered"], json::parse(R"({"ch-1":false,"ch-2":false})")) << sub.dump();
    EXPECT_EQ(c.read_json(),
              json::parse(R"({"type":"reset","channel":"ch-1","seq":8,"reason":"epoch_changed"})"));
    EXPECT_EQ(c.read_text(), snapshot);  // not the history after 4, though it is there
    // ch-2 was at its newest seq, and still: another world's seq 3 is not this one's.
    EXPECT_EQ(c.read_json(),
              json::parse(R"({"type":"reset","channel":"ch-2","seq":3,"reason":"epoch_changed"})"));
    // Live messages follow the reset with no gap (ch-2 has no state: no snapshot).
    srv.publish_n(ch1, MessageType::block, 9);
    srv.publish_n(ch2, MessageType::block, 4);
    EXPECT_EQ(c.read_json()["seq"], 9);
    const json next = c.read_json();
    EXPECT_EQ(next["channel"], "ch-2");
    EXPECT_EQ(next["seq"], 4);
}

TEST_F(EpochFixture, ResumeUnderTheSameEpochOrNoneRecovers) {
    for (const bool with_epoch : {true, false}) {
        SCOPED_TRACE(with_epoch ? "same epoch" : "no epoch");
        auto c = connect();
        EXPECT_EQ(welcome["epoch"], kEpoch);
        json req = {{"action", "subscribe"}, {"channels", {"ch-1"}}, {"since", {{"ch-1", 4}}}};
        if (with_epoch) req["epoch"] = welcome["epoch"];
        c.send_json(req);
        EXPECT_EQ(c.read_json()["recovered"]["ch-1"], true);
        for (std::uint64_t seq = 5; seq <= 8; ++seq) EXPECT_EQ(c.read_json()["seq"], seq);
    }
}

TEST_F(EpochFixture, NonStringEpochIsBadRequest) {
    auto c = connect();
    c.send(R"({"action":"subscribe","channels":["ch-1"],"since":{"ch-1":4},"epoch":42})");
    const json err = c.read_json();
    EXPECT_EQ(err["type"], "error");
    EXPECT_EQ(err["code"], "bad_request");
    c.send(R"({"action":"ping","id":1})");
    EXPECT_EQ(c.read_json()["type"], "pong");  // nothing was subscribed or sent meanwhile
}

TEST_F(EpochFixture, PollCarriesTheEpoch) {
    const json body =
        http_get(srv.port(), "/api/v11/poll/channels?channels=ch-1&since=ch-1:6").body_json();
    EXPECT_EQ(body["epoch"], kEpoch);
    EXPECT_EQ(body["messages"].size(), 2u);
    EXPECT_EQ(body["reset"], json::array());
    const json same =
        http_get(srv.port(),
                 std::string("/api/v11/poll/channels?channels=ch-1&since=ch-1:6&epoch=") + kEpoch)
            .body_json();
    EXPECT_EQ(same, body);
}

TEST_F(EpochFixture, PollUnderAForeignEpochResetsEveryPolledStream) {
    const auto r = http_get(
        srv.port(), "/api/v11/poll/channels?channels=ch-1,ch-2&since=ch-1:4&epoch=sim-other");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, R"({"messages":[)" + snapshot +
                          R"(],"next":{"ch-1":8,"ch-2":3},"reset":["ch-1","ch-2"],"epoch":")" +
                          kEpoch + R"("})");
}

}  // namespace
}  // namespace streambed::testing
