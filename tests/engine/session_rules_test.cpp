// session_rules_test.cpp: the documented WebSocket session rules of docs/protocol.md, each on a
// real server — the welcome's key order, the 64 KiB cap of a batch, `rate_limited` counting
// toward the error budget (close 1008), and a resume point that leaves history while a paced
// resume waits for a slow client (reset, then the snapshot, then live messages).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

// True when every key appears in `text`, each after the one before.
bool keys_in_order(const std::string& text, const std::vector<std::string>& keys) {
    std::size_t at = 0;
    for (const auto& k : keys) {
        const auto found = text.find("\"" + k + "\":", at);
        if (found == std::string::npos) return false;
        at = found;
    }
    return true;
}

TEST(SessionRules, WelcomeKeysAreInTheDocumentedOrder) {
    TestServer srv;
    srv.declare(Endpoint::metrics, "metrics");
    WsClient c(srv.port(), "/ws/metrics");
    const auto text = c.read_text();
    EXPECT_TRUE(text.starts_with(R"({"type":"welcome",)")) << text;
    EXPECT_TRUE(keys_in_order(text, {"type", "protocol", "endpoint", "session", "channels",
                                     "heartbeatMs", "clock", "time", "wall", "scale", "epoch"}))
        << text;
    EXPECT_EQ(json::parse(text).size(), 8u) << text;
}

TEST(SessionRules, BatchesStayWithin64KiB) {
    auto o = test_options();
    o.outbound_limit_bytes = 64 << 20;
    o.socket_send_buffer = 32 << 10;  // so the queue builds up and batches fill
    TestServer srv(o);
    auto tx = srv.declare(Endpoint::transactions, "ch-1");
    WsClient c(srv.port(), "/ws/transactions?batch=1");
    EXPECT_EQ(c.read_json()["type"], "welcome");
    c.send(R"({"action":"subscribe","channels":["ch-1"]})");
    c.read_until_type("subscribed");
    // 1000 bytes each: 256 messages would be 250 KiB, so the byte cap binds first.
    constexpr std::uint64_t kCount = 3000;
    for (std::uint64_t n = 1; n <= kCount; ++n)
        srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n),
                    padded_data(n, 1000));
    constexpr std::size_t kCap = 64 << 10;
    std::uint64_t seq = 0;
    std::size_t largest = 0;
    while (seq < kCount) {
        const auto text = c.read_text();
        const auto j = json::parse(text);
        if (!j.is_array()) {
            ASSERT_EQ(j["seq"], ++seq);
            continue;
        }
        // The messages' bytes are within the cap; the frame adds its brackets and commas.
        EXPECT_LE(text.size(), kCap + j.size() + 1) << j.size() << " messages";
        largest = std::max(largest, text.size());
        for (const auto& m : j) ASSERT_EQ(m["seq"], ++seq);
    }
    // The cap was reached (the next message did not fit), not merely never approached.
    EXPECT_GT(largest, kCap - 1100);
}

TEST(SessionRules, RateLimitedCountsTowardTheErrorBudget) {
    auto o = test_options();
    o.client_rate = 1;  // a burst of 2, then one message a second
    o.max_errors = 3;
    TestServer srv(o);
    srv.declare(Endpoint::network, "network");
    WsClient c(srv.port(), "/ws/network");
    c.read_json();
    // Valid pings only: every error below is rate_limited.
    for (int i = 0; i < 10; ++i) c.send(fmt::format(R"({{"action":"ping","id":{}}})", i));
    int pongs = 0, limited = 0;
    while (auto text = c.read()) {
        const auto j = json::parse(*text);
        if (j["type"] == "pong")
            ++pongs;
        else if (j["type"] == "error" && j["code"] == "rate_limited")
            ++limited;
        else
            ADD_FAILURE() << "unexpected " << *text;
    }
    EXPECT_EQ(c.close_code(), 1008);
    EXPECT_EQ(c.close_reason(), "too many errors");
    // The fourth error passes the budget of 3; it is usually dropped with the queue at the close.
    EXPECT_GE(limited, 3);
    EXPECT_LE(limited, 4);
    EXPECT_GE(pongs, 2);
}

TEST(SessionRules, AResumePointLeavingHistoryDuringAPacedResumeIsAReset) {
    auto o = test_options();
    o.history = 200;
    o.outbound_limit_bytes = 16 << 10;  // a paced resume queues at most 8 KiB at a time
    o.socket_send_buffer = 4 << 10;
    TestServer srv(o);
    auto ch = srv.declare(Endpoint::channels, "ch-a");
    for (std::uint64_t n = 1; n <= 200; ++n)
        srv.publish(ch, MessageType::channel_update, static_cast<std::int64_t>(n),
                    padded_data(n, 2000));
    WsClient c(srv.port(), "/ws/channels");
    c.read_json();
    // After `subscribed` the client reads nothing more until the history has moved on.
    c.shrink_receive_buffer(4 << 10);
    c.send(R"({"action":"subscribe","channels":["ch-a"],"since":{"ch-a":0}})");
    const auto subscribed = c.read_until_type("subscribed");
    EXPECT_EQ(subscribed["recovered"]["ch-a"], true)
        << "seq 1 was in history when the resume began";
    // 400 KB of history cannot all have left the server's queue and both kernel buffers: the
    // resume is still under way when 400 more messages push its point out of history.
    for (std::uint64_t n = 201; n <= 600; ++n)
        srv.publish(ch, MessageType::channel_update, static_cast<std::int64_t>(n),
                    padded_data(n, 2000));
    std::uint64_t last = 0;
    json reset;
    while (true) {
        const auto j = c.read_json();
        if (j["type"] == "reset") {
            reset = j;
            break;
        }
        ASSERT_EQ(j["seq"], last + 1) << "the resumed history has no gap";
        last = j["seq"];
    }
    EXPECT_GT(last, 0u);
    EXPECT_LT(last, 200u);
    EXPECT_EQ(reset["channel"], "ch-a");
    EXPECT_EQ(reset["reason"], "history_exceeded");
    // The reset names the newest seq when the resume found its point gone (the source may
    // still have been publishing). The snapshot follows: that message, or a newer state of the
    // stream when live messages arrived while it was queued and conflation kept the newest
    // (docs/protocol.md), never an older one. Then seqs only grow to the last one published.
    const std::uint64_t newest = reset["seq"];
    EXPECT_GT(newest, 200u);
    EXPECT_LE(newest, 600u);
    const std::uint64_t snapshot = c.read_json()["seq"];
    EXPECT_GE(snapshot, newest) << "the snapshot follows the reset";
    for (std::uint64_t seq = snapshot; seq < 600;) {
        const std::uint64_t next = c.read_json()["seq"];
        ASSERT_GT(next, seq);
        seq = next;
    }
}

}  // namespace
}  // namespace streambed::testing
