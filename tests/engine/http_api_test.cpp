// http_api_test.cpp: health, Prometheus metrics, stats and the polling fallback over real HTTP.
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

struct Api : ::testing::Test {
    TestServer srv;
    engine::StreamId ch1 = srv.declare(Endpoint::channels, "ch-1");
    engine::StreamId ch2 = srv.declare(Endpoint::channels, "ch-2");
    engine::StreamId metrics = srv.declare(Endpoint::metrics, "metrics");
};

TEST_F(Api, HealthLiveAndReady) {
    for (const char* path : {"/q/health", "/q/health/live", "/q/health/ready"}) {
        SCOPED_TRACE(path);
        auto r = http_get(srv.port(), path);
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body_json()["status"], "UP");
        EXPECT_TRUE(r.body_json()["checks"].is_array());
    }
}

TEST(ApiDraining, HealthIsDownWhileDraining) {
    auto options = test_options();
    // Draining outlasts every check below on any machine; the client ends it by going away.
    options.drain_timeout = std::chrono::seconds(60);
    TestServer srv(options);
    srv.declare(Endpoint::metrics, "metrics");
    auto c = std::make_unique<WsClient>(srv.port(), "/ws/metrics");
    c->read_json();
    // The client does not answer the close: the server stays draining. A jthread: a check that
    // throws below still joins it (a joinable std::thread would abort the test program).
    std::jthread stopper([&] { srv.server().shutdown(); });
    EXPECT_TRUE(wait_until(
        [&] {
            try {
                auto r = http_get(srv.port(), "/q/health");
                return r.status == 503 && r.body_json()["status"] == "DOWN";
            } catch (...) {
                return false;
            }
        },
        std::chrono::seconds(30)));
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/metrics").status, 503);
    c.reset();  // the last client gone, shutdown ends without waiting for drain_timeout
}

TEST_F(Api, MetricsArePrometheusText) {
    WsClient c(srv.port(), "/ws/metrics");
    c.read_json();
    srv.publish_n(metrics, MessageType::metrics, 1);
    c.read_json();
    auto r = http_get(srv.port(), "/q/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.headers["content-type"].find("text/plain"), std::string::npos);
    for (const char* name :
         {"streambed_connections{endpoint=\"/ws/metrics\"} 1", "streambed_messages_sent_total",
          "streambed_bytes_sent_total", "streambed_conflated_total",
          "streambed_slow_consumer_closes_total", "streambed_errors_sent_total",
          "streambed_broadcast_latency_seconds_bucket{le=\"+Inf\"}",
          "# TYPE streambed_broadcast_latency_seconds histogram",
          "# TYPE streambed_due_to_hub_seconds histogram",
          "streambed_due_to_hub_seconds_bucket{endpoint=\"/ws/metrics\",le=\"0.001\"}",
          "streambed_due_to_hub_seconds_count{endpoint=\"/ws/channels\"}"}) {
        EXPECT_NE(r.body.find(name), std::string::npos) << name;
    }
    EXPECT_TRUE(wait_until([&] {
        return http_get(srv.port(), "/q/metrics").body.find("streambed_messages_sent_total 1\n") !=
               std::string::npos;
    }));
}

TEST_F(Api, StatsCountConnectionsAndSubscriptions) {
    WsClient a(srv.port(), "/ws/channels"), b(srv.port(), "/ws/metrics");
    a.read_json();
    b.read_json();
    a.send(R"({"action":"subscribe","channels":["ch-1","ch-2"]})");
    a.read_until_type("subscribed");
    auto s = http_get(srv.port(), "/api/v11/websocket/stats").body_json();
    EXPECT_EQ(s["activeConnections"], 2);
    EXPECT_EQ(s["totalSubscriptions"], 3);
    EXPECT_EQ(s["endpoints"]["/ws/channels"], 1);
    EXPECT_EQ(s["endpoints"]["/ws/metrics"], 1);
    EXPECT_EQ(s["endpoints"]["/ws/network"], 0);
    a.close();
    EXPECT_TRUE(wait_until([&] {
        return http_get(srv.port(), "/api/v11/websocket/stats").body_json()["activeConnections"] ==
               1;
    }));
}

TEST_F(Api, PollingReturnsTheSameBytesAndSeqsAsPush) {
    WsClient c(srv.port(), "/ws/channels");
    c.read_json();
    c.send(R"({"action":"subscribe","channels":["ch-1","ch-2"]})");
    c.read_until_type("subscribed");
    std::vector<std::string> pushed;
    for (std::uint64_t n = 1; n <= 6; ++n) {
        srv.publish_n(n % 2 ? ch1 : ch2, MessageType::block, n);
    }
    for (int i = 0; i < 6; ++i) pushed.push_back(c.read_text());

    auto r = http_get(srv.port(), "/api/v11/poll/channels?channels=ch-1,ch-2&since=ch-1:0,ch-2:0");
    ASSERT_EQ(r.status, 200);
    auto body = r.body_json();
    ASSERT_EQ(body["messages"].size(), 6u);
    std::vector<std::string> polled;
    for (auto& m : body["messages"]) polled.push_back(m.dump());
    // Same envelopes: every pushed frame is found, byte for byte, in the poll body.
    for (auto& p : pushed) EXPECT_NE(r.body.find(p), std::string::npos) << p;
    EXPECT_EQ(body["next"], json::parse(R"({"ch-1":3,"ch-2":3})"));
    EXPECT_EQ(body["reset"], json::array());

    // Switching from poll back to push with `since` = next: no gap, no repeat.
    WsClient d(srv.port(), "/ws/channels");
    d.read_json();
    d.send(R"({"action":"subscribe","channels":["ch-1"],"since":{"ch-1":3}})");
    d.read_until_type("subscribed");
    auto m = srv.publish_n(ch1, MessageType::block, 7);
    EXPECT_EQ(d.read_json()["seq"], 4);
}

TEST_F(Api, PollingWithoutSinceGivesTheSnapshot) {
    srv.publish_n(metrics, MessageType::metrics, 1);
    auto latest = srv.publish_n(metrics, MessageType::metrics, 2);
    auto r = http_get(srv.port(), "/api/v11/poll/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"messages":[)" + latest->bytes +
                          R"(],"next":{"metrics":2},"reset":[],"epoch":")" + srv.hub().epoch() +
                          R"("})");
    EXPECT_EQ(http_get(srv.port(), "/api/v11/poll/metrics?since=metrics:1")
                  .body_json()["messages"]
                  .size(),
              1u);
}

TEST(ApiHistory, PollingReportsResetWhenSinceLeftHistory) {
    auto o = test_options();
    o.history = 3;
    TestServer srv(o);
    auto ch1 = srv.declare(Endpoint::channels, "ch-1");
    for (std::uint64_t n = 1; n <= 10; ++n)
        srv.publish_n(ch1, n == 10 ? MessageType::channel_update : MessageType::block, n);
    auto body =
        http_get(srv.port(), "/api/v11/poll/channels?channels=ch-1&since=ch-1:2").body_json();
    EXPECT_EQ(body["reset"], json::parse(R"(["ch-1"])"));
    ASSERT_EQ(body["messages"].size(), 1u);  // the snapshot
    EXPECT_EQ(body["messages"][0]["seq"], 10);
}

TEST_F(Api, BadPollingParametersAre400) {
    const char* bad[] = {
        "/api/v11/poll/channels?channels=ch-1,nope",
        "/api/v11/poll/channels?channels=ch-1&since=ch-1",
        "/api/v11/poll/channels?channels=ch-1&since=ch-1:x",
        "/api/v11/poll/channels?channels=ch-1&since=ch-1:-1",
        "/api/v11/poll/channels?channels=ch-1&since=ch-2:1",
        "/api/v11/poll/channels?color=blue",
    };
    for (const char* target : bad) {
        SCOPED_TRACE(target);
        auto r = http_get(srv.port(), target);
        EXPECT_EQ(r.status, 400);
        EXPECT_TRUE(r.body_json()["message"].is_string());
    }
    EXPECT_EQ(http_get(srv.port(), "/api/v11/poll/blocks").status, 404);
}

TEST_F(Api, UnknownRoutesAre404) {
    EXPECT_EQ(http_get(srv.port(), "/nope").status, 404);
    EXPECT_EQ(http_get(srv.port(), "/").status, 200);
}

}  // namespace
}  // namespace streambed::testing
