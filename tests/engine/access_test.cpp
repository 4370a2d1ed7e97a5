// access_test.cpp: the auth token guards the data (issue 11) — with --auth-token every /api/
// route and the upgrade answer 401 with WWW-Authenticate: Bearer and a JSON body when the token
// is missing or wrong, the Authorization header beats ?token=, /q/health stays open — and the
// refusals Beast would write itself (missing Sec-WebSocket-Key, version 8) and 405 are JSON with
// the headers the docs name.
#include <gtest/gtest.h>

#include "engine/access.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;

engine::ServerOptions with_token(const std::string& token) {
    auto o = test_options();
    o.auth_token = token;
    return o;
}

struct Guarded : ::testing::Test {
    TestServer srv{with_token("s3cret")};
    engine::StreamId m = srv.declare(Endpoint::metrics, "metrics");
};

void expect_401(const HttpResult& r, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(r.status, 401) << r.body;
    auto h = r.headers.find("www-authenticate");
    ASSERT_NE(h, r.headers.end());
    EXPECT_TRUE(h->second.starts_with("Bearer")) << h->second;
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    auto body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body["error"], "unauthorized");
    EXPECT_EQ(r.body.find("s3cret"), std::string::npos);
}

TEST_F(Guarded, EveryApiRouteNeedsTheToken) {
    srv.publish_n(m, engine::MessageType::metrics, 1);
    for (const std::string route :
         {"/api/v11/websocket/stats", "/api/v11/poll/metrics",
          "/api/v11/poll/metrics?channels=metrics&since=metrics:0", "/api/nothing"}) {
        const std::string sep = route.find('?') == std::string::npos ? "?" : "&";
        expect_401(http_get(srv.port(), route), route + " without a token");
        expect_401(http_get(srv.port(), route + sep + "token=wrong"),
                   route + " with a wrong token");
        expect_401(http_get(srv.port(), route + sep + "token=s3cre"),
                   route + " with a prefix of the token");
        expect_401(http_get(srv.port(), route, {{"Authorization", "Bearer s3cretX"}}),
                   route + " wrong header");
        expect_401(http_get(srv.port(), route, {{"Authorization", "Basic s3cret"}}),
                   route + " not Bearer");
    }
    EXPECT_EQ(http_get(srv.port(), "/api/v11/websocket/stats?token=s3cret").status, 200);
    EXPECT_EQ(http_get(srv.port(), "/api/v11/websocket/stats", {{"Authorization", "Bearer s3cret"}})
                  .status,
              200);
    const auto poll = http_get(srv.port(), "/api/v11/poll/metrics?channels=metrics&token=s3cret");
    EXPECT_EQ(poll.status, 200) << poll.body;
    EXPECT_EQ(poll.body_json()["messages"].size(), 1u);
    // The header wins over the query, both ways.
    expect_401(http_get(srv.port(), "/api/v11/websocket/stats?token=s3cret",
                        {{"Authorization", "Bearer no"}}),
               "wrong header, right query");
    EXPECT_EQ(http_get(srv.port(), "/api/v11/websocket/stats?token=no",
                       {{"Authorization", "Bearer s3cret"}})
                  .status,
              200);
}

TEST_F(Guarded, HealthMetricsAndTheIndexStayOpen) {
    EXPECT_EQ(http_get(srv.port(), "/q/health/live").status, 200);
    EXPECT_NE(http_get(srv.port(), "/q/health").status, 401);
    EXPECT_EQ(http_get(srv.port(), "/q/metrics").status, 200);
    EXPECT_EQ(http_get(srv.port(), "/").status, 200);
}

TEST_F(Guarded, TheUpgradeNeedsTheToken) {
    expect_401(try_upgrade(srv.port(), "/ws/metrics"), "no token");
    expect_401(try_upgrade(srv.port(), "/ws/metrics?token=wrong"), "wrong token");
    expect_401(
        try_upgrade(srv.port(), "/ws/metrics?token=s3cret", {{"Authorization", "Bearer wrong"}}),
        "wrong header beats the right query");
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/metrics?token=s3cret").status, 101);
    EXPECT_EQ(try_upgrade(srv.port(), "/ws/metrics", {{"Authorization", "Bearer s3cret"}}).status,
              101);
    WsClient c(srv.port(), "/ws/metrics?batch=1&token=s3cret");
    EXPECT_EQ(c.read_json()["type"], "welcome");
}

TEST(AccessToken, ComparisonAndRedaction) {
    EXPECT_TRUE(engine::token_accepted("", "anything"));
    EXPECT_TRUE(engine::token_accepted("abc", "abc"));
    EXPECT_FALSE(engine::token_accepted("abc", "abd"));
    EXPECT_FALSE(engine::token_accepted("abc", "ab"));
    EXPECT_FALSE(engine::token_accepted("abc", "abcd"));
    EXPECT_FALSE(engine::token_accepted("abc", ""));
    EXPECT_EQ(engine::presented_token("Bearer h", "token=q"), "h");
    EXPECT_EQ(engine::presented_token("", "batch=1&token=q%20r"), "q r");
    EXPECT_EQ(engine::presented_token("", "t%6Fken=q"), "q");
    EXPECT_EQ(engine::redact_target("/ws/metrics?batch=1&token=s3cret"),
              "/ws/metrics?batch=1&token=REDACTED");
    EXPECT_EQ(engine::redact_target("/ws/metrics?t%6Fken=s3cret&token"),
              "/ws/metrics?token=REDACTED&token=REDACTED");
    EXPECT_EQ(engine::redact_target("/ws/metrics?batch=1"), "/ws/metrics?batch=1");
    EXPECT_EQ(engine::redact_target("/ws/metrics"), "/ws/metrics");
}

TEST(HandshakeRefusals, BeastsOwnRefusalsAreJson) {
    TestServer srv;
    const auto missing_key =
        raw_request(srv.port(), upgrade_request("Sec-WebSocket-Version: 13\r\n"));
    EXPECT_TRUE(missing_key.starts_with("HTTP/1.1 400")) << missing_key;
    EXPECT_NE(missing_key.find("Content-Type: application/json"), std::string::npos) << missing_key;
    EXPECT_EQ(json::parse(body_of(missing_key), nullptr, false).value("error", ""), "bad_request")
        << missing_key;

    const auto version8 = raw_request(
        srv.port(),
        upgrade_request(
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"));
    EXPECT_TRUE(version8.starts_with("HTTP/1.1 426")) << version8;
    EXPECT_NE(version8.find("Sec-WebSocket-Version: 13"), std::string::npos) << version8;
    EXPECT_NE(version8.find("Content-Type: application/json"), std::string::npos) << version8;
    EXPECT_EQ(json::parse(body_of(version8), nullptr, false).value("error", ""), "upgrade_required")
        << version8;

    WsClient still(srv.port(), "/ws/metrics");  // and the server carries on
    EXPECT_EQ(still.read_json()["type"], "welcome");
}

TEST(HandshakeRefusals, MethodNotAllowedNamesTheAllowedMethods) {
    TestServer srv;
    const auto answer = raw_request(srv.port(),
                                    "POST /q/health HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
                                    "0\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 405")) << answer;
    EXPECT_NE(answer.find("Allow: GET, HEAD\r\n"), std::string::npos) << answer;
    EXPECT_EQ(json::parse(body_of(answer), nullptr, false).value("error", ""), "method_not_allowed")
        << answer;
}

}  // namespace
}  // namespace streambed::testing
