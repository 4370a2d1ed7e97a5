// http_rules_test.cpp: the documented HTTP rules of docs/protocol.md, each on a real server —
// every answer's Cache-Control and CORS headers, the refusal's body and headers and the order of
// the upgrade checks, the Authorization header beating ?token, 413 at the header and body limits
// (--header-limit, --body-limit), the handshake timeout, and poll results grouped in the order
// the channels were asked.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

constexpr const char* kKey = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
constexpr const char* kVersion13 = "Sec-WebSocket-Version: 13\r\n";

// The value of header `name` (as the server spells it) in a raw answer; "" when absent.
std::string header_of(const std::string& answer, const std::string& name) {
    const auto head = answer.substr(0, answer.find("\r\n\r\n"));
    const auto at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return {};
    const auto from = at + name.size() + 4;
    return head.substr(from, head.find("\r\n", from) - from);
}

int status_of(const std::string& answer) {
    return answer.starts_with("HTTP/1.1 ") ? std::stoi(answer.substr(9, 3)) : 0;
}

// A refusal as docs/protocol.md describes it: the status, JSON {"error","message"} with the
// code, Connection: close, and the headers every answer has.
void expect_refusal(const std::string& answer, int status, const std::string& code) {
    SCOPED_TRACE(answer);
    EXPECT_EQ(status_of(answer), status);
    EXPECT_EQ(header_of(answer, "Content-Type"), "application/json");
    EXPECT_EQ(header_of(answer, "Connection"), "close");
    EXPECT_EQ(header_of(answer, "Cache-Control"), "no-store");
    EXPECT_EQ(header_of(answer, "Access-Control-Allow-Origin"), "*");
    const auto body = json::parse(body_of(answer), nullptr, false);
    ASSERT_TRUE(body.is_object());
    EXPECT_EQ(body.value("error", ""), code);
    EXPECT_FALSE(body.value("message", "").empty());
}

engine::ServerOptions guarded_options() {
    auto o = test_options();
    o.auth_token = "s3cret";
    o.allowed_origins = {"http://portal.local"};
    o.max_connections = 1;
    return o;
}

TEST(HttpRules, EveryAnswerHasCacheControlAndCors) {
    auto o = guarded_options();
    o.header_limit_bytes = 2048;
    TestServer srv(o);
    srv.declare(Endpoint::metrics, "metrics");
    const std::string close = "Host: localhost\r\nConnection: close\r\n";
    const std::vector<std::pair<std::string, int>> requests = {
        {"GET / HTTP/1.1\r\n" + close + "\r\n", 200},
        {"GET /q/health HTTP/1.1\r\n" + close + "\r\n", 200},
        {"GET /q/metrics HTTP/1.1\r\n" + close + "\r\n", 200},
        {"HEAD /q/health/live HTTP/1.1\r\n" + close + "\r\n", 200},
        {"GET /api/v11/websocket/stats HTTP/1.1\r\n" + close +
             "Authorization: Bearer s3cret\r\n\r\n",
         200},
        {"GET /api/v11/poll/metrics?token=s3cret HTTP/1.1\r\n" + close + "\r\n", 200},
        {"GET /api/v11/poll/metrics?token=s3cret&bogus=1 HTTP/1.1\r\n" + close + "\r\n", 400},
        {"GET /api/v11/poll/metrics HTTP/1.1\r\n" + close + "\r\n", 401},
        {"GET /nowhere HTTP/1.1\r\n" + close + "\r\n", 404},
        {"DELETE /q/health HTTP/1.1\r\n" + close + "\r\n", 405},
        {"GET /q/health HTTP/1.1\r\n" + close + "X-Padding: " + std::string(4096, 'x') + "\r\n\r\n",
         413},
        {upgrade_request(std::string(kKey) + kVersion13 + "Origin: http://evil.example\r\n"), 403},
    };
    for (const auto& [request, status] : requests) {
        const auto answer = raw_request(srv.port(), request);
        SCOPED_TRACE(request.substr(0, request.find("\r\n")));
        EXPECT_EQ(status_of(answer), status) << answer;
        // The page at / (the dashboard, or the page saying how to build it) is revalidated, not
        // unstored: docs/protocol.md, the dashboard's files. Every other answer is never stored.
        const bool page = request.starts_with("GET / ");
        EXPECT_EQ(header_of(answer, "Cache-Control"), page ? "no-cache" : "no-store") << answer;
        EXPECT_EQ(header_of(answer, "Access-Control-Allow-Origin"), "*") << answer;
    }
}

TEST(HttpRules, UpgradeChecksRefuseInTheDocumentedOrder) {
    TestServer srv(guarded_options());
    const std::string origin_ok = "Origin: http://portal.local\r\n";
    const std::string origin_bad = "Origin: http://evil.example\r\n";
    const std::string token = "Authorization: Bearer s3cret\r\n";
    const auto upgrade_at = [](const std::string& path, const std::string& extra) {
        return "GET " + path +
               " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
               extra + "\r\n";
    };
    // Each request fails every check from its own on: the first failing check answers.
    expect_refusal(raw_request(srv.port(), upgrade_at("/ws/nowhere", origin_bad)), 404,
                   "not_found");
    expect_refusal(raw_request(srv.port(), upgrade_request(std::string(kVersion13) + origin_bad)),
                   400, "bad_request");
    const auto version8 = raw_request(
        srv.port(),
        upgrade_request(std::string(kKey) + "Sec-WebSocket-Version: 8\r\n" + origin_bad));
    expect_refusal(version8, 426, "upgrade_required");
    EXPECT_EQ(header_of(version8, "Sec-WebSocket-Version"), "13");
    expect_refusal(
        raw_request(srv.port(), upgrade_request(std::string(kKey) + kVersion13 + origin_bad)), 403,
        "forbidden");
    const auto no_token =
        raw_request(srv.port(), upgrade_request(std::string(kKey) + kVersion13 + origin_ok));
    expect_refusal(no_token, 401, "unauthorized");
    EXPECT_EQ(header_of(no_token, "WWW-Authenticate"), R"(Bearer realm="streambed")");

    // The one connection allowed, then the limit: 503 with Retry-After, after every other check.
    WsClient first(srv.port(), "/ws/metrics?token=s3cret", std::chrono::seconds(5),
                   {{"Origin", "http://portal.local"}});
    const auto over = raw_request(
        srv.port(), upgrade_request(std::string(kKey) + kVersion13 + origin_ok + token));
    expect_refusal(over, 503, "too_many_connections");
    EXPECT_EQ(header_of(over, "Retry-After"), "1");
    // Without the token, the same request is refused for the token first, not for the limit.
    expect_refusal(
        raw_request(srv.port(), upgrade_request(std::string(kKey) + kVersion13 + origin_ok)), 401,
        "unauthorized");
}

TEST(HttpRules, TheAuthorizationHeaderBeatsTheQueryToken) {
    auto o = test_options();
    o.auth_token = "s3cret";
    TestServer srv(o);
    srv.declare(Endpoint::metrics, "metrics");
    // A wrong or malformed header is not rescued by a right ?token=.
    for (const char* header : {"Bearer wrong", "Basic czNjcmV0", "s3cret"}) {
        SCOPED_TRACE(header);
        EXPECT_EQ(
            try_upgrade(srv.port(), "/ws/metrics?token=s3cret", {{"Authorization", header}}).status,
            401);
        EXPECT_EQ(
            http_get(srv.port(), "/api/v11/poll/metrics?token=s3cret", {{"Authorization", header}})
                .status,
            401);
    }
    // A right header wins over a wrong ?token=.
    EXPECT_EQ(
        try_upgrade(srv.port(), "/ws/metrics?token=wrong", {{"Authorization", "Bearer s3cret"}})
            .status,
        101);
    EXPECT_EQ(http_get(srv.port(), "/api/v11/poll/metrics?token=wrong",
                       {{"Authorization", "Bearer s3cret"}})
                  .status,
              200);
}

TEST(HttpRules, HeadersAndBodiesOverTheLimitsAre413) {
    auto o = test_options();
    o.header_limit_bytes = 2048;
    o.body_limit_bytes = 1024;
    TestServer srv(o);
    const auto request = [](std::size_t header_padding, std::size_t body) {
        return "GET /q/health/live HTTP/1.1\r\nHost: localhost\r\nConnection: "
               "close\r\nX-Padding: " +
               std::string(header_padding, 'x') + "\r\nContent-Length: " + std::to_string(body) +
               "\r\n\r\n" + std::string(body, 'b');
    };
    EXPECT_EQ(status_of(raw_request(srv.port(), request(1024, 512))), 200);
    expect_refusal(raw_request(srv.port(), request(3000, 0)), 413, "too_large");
    expect_refusal(raw_request(srv.port(), request(0, 2048)), 413, "too_large");
    // The query string counts toward the header limit: a long poll query is refused the same way.
    expect_refusal(
        raw_request(srv.port(), "GET /api/v11/poll/metrics?channels=" + std::string(3000, 'm') +
                                    " HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        413, "too_large");
}

TEST(HttpRules, ARequestNotFinishedWithinTheHandshakeTimeoutIsDropped) {
    auto o = test_options();
    o.handshake_timeout = std::chrono::milliseconds(200);
    TestServer srv(o);
    // Half a request, then silence: the server drops the connection without an answer.
    // raw_request would give up after 5 s; the default timeout (10 s) would not end it sooner.
    const auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(raw_request(srv.port(), "GET /q/health HTTP/1.1\r\nHost: loc"), "");
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(4));
    EXPECT_EQ(http_get(srv.port(), "/q/health/live").status, 200) << "the server carries on";
}

TEST(HttpRules, PollResultsAreGroupedInRequestOrder) {
    TestServer srv;
    const auto a = srv.declare(Endpoint::channels, "ch-a");
    const auto b = srv.declare(Endpoint::channels, "ch-b");
    // Interleaved in time: a merge by time or by declaration would put ch-a first.
    for (std::uint64_t n = 1; n <= 3; ++n) {
        srv.publish_n(a, MessageType::channel_update, n);
        srv.publish_n(b, MessageType::block, n);
    }
    const auto r =
        http_get(srv.port(), "/api/v11/poll/channels?channels=ch-b,ch-a&since=ch-b:0,ch-a:0");
    ASSERT_EQ(r.status, 200) << r.body;
    std::vector<std::pair<std::string, std::uint64_t>> got;
    const auto body = r.body_json();
    for (const auto& m : body["messages"]) got.emplace_back(m["channel"], m["seq"]);
    const std::vector<std::pair<std::string, std::uint64_t>> want = {
        {"ch-b", 1}, {"ch-b", 2}, {"ch-b", 3}, {"ch-a", 1}, {"ch-a", 2}, {"ch-a", 3}};
    EXPECT_EQ(got, want) << r.body;
}

}  // namespace
}  // namespace streambed::testing
