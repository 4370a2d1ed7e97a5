// refusal_test.cpp: every bad input gets a clear answer, and the server and the other clients
// carry on: protocol errors, oversized and binary frames, refused upgrades, abuse.
#include <gtest/gtest.h>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

struct Refusals : ::testing::Test {
    TestServer srv;
    engine::StreamId ch1 = srv.declare(Endpoint::channels, "ch-1");

    WsClient connect(const std::string& path = "/ws/channels") {
        WsClient c(srv.port(), path);
        EXPECT_EQ(c.read_json()["type"], "welcome");
        return c;
    }
    // The connection still works: a ping is answered.
    static void still_alive(WsClient& c) {
        c.send(R"({"action":"ping","id":1})");
        EXPECT_EQ(c.read_json()["type"], "pong");
    }
};

struct BadMessage {
    const char* text;
    const char* code;
    const char* mentions;  // a word the message must contain
};

TEST_F(Refusals, ProtocolErrorsAreNamedAndTheConnectionStaysOpen) {
    const BadMessage cases[] = {
        {R"({"action":"subscribe","channels":["ch-1")", "bad_json", "JSON"},
        {"not json at all", "bad_json", "JSON"},
        {R"([{"action":"ping"}])", "bad_request", "object"},
        {R"(42)", "bad_request", "object"},
        {R"({"channels":["ch-1"]})", "bad_request", "action"},
        {R"({"action":"dance"})", "unknown_action", "dance"},
        {R"({"action":"subscribe","channels":"ch-1"})", "bad_request", "channels"},
        {R"({"action":"subscribe"})", "bad_request", "channels"},
        {R"({"action":"subscribe","channels":[1,2]})", "bad_request", "strings"},
        {R"({"action":"subscribe","channels":["ch-1"],"since":{"ch-1":-4}})", "bad_request",
         "since"},
        {R"({"action":"subscribe","channels":["ch-1"],"since":[1]})", "bad_request", "since"},
        {R"({"action":"subscribe","channels":["nope"]})", "unknown_channel", "nope"},
        {R"({"action":"unsubscribe","channels":["nope"]})", "unknown_channel", "nope"},
    };
    auto c = connect();
    for (const auto& bad : cases) {
        SCOPED_TRACE(bad.text);
        c.send(bad.text);
        auto e = c.read_json();
        EXPECT_EQ(e["type"], "error");
        EXPECT_EQ(e["code"], bad.code);
        EXPECT_NE(e["message"].get<std::string>().find(bad.mentions), std::string::npos)
            << e.dump();
    }
    still_alive(c);
}

TEST_F(Refusals, LongMultibyteActionNameIsAnErrorNotACrash) {
    auto c = connect();
    std::string action = "a";
    for (int i = 0; i < 60; ++i) action += "\xc3\xa9";  // é: a 64-byte cut falls inside one
    c.send(R"({"action":")" + action + R"("})");
    auto e = c.read_json();
    EXPECT_EQ(e["code"], "unknown_action");
    still_alive(c);
}

TEST_F(Refusals, InvalidUtf8InAnHttpPathIsA404NotACrash) {
    EXPECT_EQ(http_get(srv.port(), "/api/v11/poll/%FF%FE").status, 404);
    EXPECT_EQ(http_get(srv.port(), "/%C3").status, 404);
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/%FF").status, 404);
    auto c = connect();
    still_alive(c);
}

TEST_F(Refusals, OversizedMessageClosesWith1009AndOthersCarryOn) {
    auto bystander = connect();
    bystander.send(R"({"action":"subscribe","channels":["ch-1"]})");
    bystander.read_until_type("subscribed");
    auto c = connect();
    // Far over the limit: the server refuses at the frame header, while most of the message is
    // still to come. It must drain the rest so the close frame reaches the client (no reset).
    c.send(R"({"action":"ping","id":")" + std::string(1024 * 1024, 'x') + R"("})");
    EXPECT_FALSE(c.read());
    EXPECT_EQ(c.close_code(), 1009);
    auto m = srv.publish_n(ch1, MessageType::block, 1);
    EXPECT_EQ(bystander.read_text(), m->bytes);
}

TEST_F(Refusals, BinaryFrameClosesWith1003) {
    auto c = connect();
    c.send_binary(std::string("\x00\x01\x02", 3));
    EXPECT_FALSE(c.read());
    EXPECT_EQ(c.close_code(), 1003);
    auto ok = connect();
    still_alive(ok);
}

TEST_F(Refusals, UnknownWebSocketPathIs404) {
    auto r = try_upgrade(srv.port(), "/ws/blocks");
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("/ws/blocks"), std::string::npos);
    EXPECT_EQ(try_upgrade(srv.port(), "/elsewhere").status, 404);
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/metrics?batch=1").status, 101);
}

TEST(Limits, ConnectionOverTheLimitGets503WithRetryAfter) {
    auto o = test_options();
    o.max_connections = 2;
    TestServer srv(o);
    WsClient a(srv.port(), "/ws/metrics"), b(srv.port(), "/ws/metrics");
    a.read_json();
    b.read_json();
    auto r = try_upgrade(srv.port(), "/ws/metrics");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.headers["retry-after"], "1");
    // HTTP still answers, and a freed slot can be taken again.
    EXPECT_EQ(http_get(srv.port(), "/q/health/live").status, 200);
    a.close();
    EXPECT_TRUE(wait_until([&] { return try_upgrade(srv.port(), "/ws/metrics").status == 101; }));
}

TEST(Limits, RepeatedAbuseClosesWith1008) {
    auto o = test_options();
    o.max_errors = 5;
    TestServer srv(o);
    WsClient c(srv.port(), "/ws/network");
    c.read_json();
    for (int i = 0; i < 6; ++i) c.send("{");
    for (int i = 0; i < 6; ++i) {
        auto m = c.read();
        if (!m) break;
        EXPECT_EQ(json::parse(*m)["code"], "bad_json");
    }
    EXPECT_FALSE(c.read());
    EXPECT_EQ(c.close_code(), 1008);
}

TEST(Limits, TooManyMessagesAreRateLimited) {
    auto o = test_options();
    o.client_rate = 5;  // burst of 10
    TestServer srv(o);
    WsClient c(srv.port(), "/ws/network");
    c.read_json();
    for (int i = 0; i < 30; ++i) c.send(fmt::format(R"({{"action":"ping","id":{}}})", i));
    int pongs = 0, limited = 0;
    for (int i = 0; i < 30; ++i) {
        auto j = c.read_json();
        if (j["type"] == "pong") ++pongs;
        if (j["type"] == "error" && j["code"] == "rate_limited") ++limited;
    }
    EXPECT_GE(pongs, 10);
    EXPECT_GT(limited, 0);
    EXPECT_EQ(pongs + limited, 30);
}

TEST(Limits, TooManySubscriptionsIsRefused) {
    auto o = test_options();
    o.max_subscriptions = 2;
    TestServer srv(o);
    for (const char* ch : {"ch-1", "ch-2", "ch-3"}) srv.declare(Endpoint::channels, ch);
    WsClient c(srv.port(), "/ws/channels");
    c.read_json();
    c.send(R"({"action":"subscribe","channels":["ch-1","ch-2","ch-3"]})");
    auto e = c.read_json();
    EXPECT_EQ(e["code"], "too_many_subscriptions");
    c.send(R"({"action":"subscribe","channels":["ch-1","ch-2"]})");
    EXPECT_EQ(c.read_json()["type"], "subscribed");
}

TEST(Access, OriginNotAllowedIs403) {
    auto o = test_options();
    o.allowed_origins = {"http://portal.local"};
    TestServer srv(o);
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/metrics", {{"Origin", "http://evil.example"}}).status,
              403);
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/metrics", {{"Origin", "http://portal.local"}}).status,
              101);
}

TEST(Access, AuthTokenIsRequiredWhenConfigured) {
    auto o = test_options();
    o.auth_token = "s3cret";
    TestServer srv(o);
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/metrics").status, 401);
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/metrics?token=wrong").status, 401);
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/metrics?token=s3cret").status, 101);
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/metrics", {{"Authorization", "Bearer s3cret"}}).status,
              101);
}

}  // namespace
}  // namespace streambed::testing
