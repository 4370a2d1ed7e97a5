// control_api_test.cpp: the proxy's HTTP control API over real HTTP — add, list, remove,
// 400 naming the bad field, 404 and 405 as JSON, partition, reset and stats.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "proxy/control_api.hpp"
#include "proxy/impairment_proxy.hpp"
#include "tests/proxy/tcp_peers.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

struct Reply {
    int status = 0;
    std::string content_type;
    std::string body;
    json body_json() const { return json::parse(body); }
};

Reply request(std::uint16_t port, http::verb method, const std::string& target,
              const std::string& body = "") {
    boost::asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(s, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return Reply{static_cast<int>(res.result_int()), std::string(res[http::field::content_type]),
                 res.body()};
}

struct ControlFixture : ::testing::Test {
    EchoServer echo;
    proxy::ImpairmentProxy proxy{[this] {
        proxy::ProxyOptions o;
        o.upstream_port = echo.port();
        return o;
    }()};
    proxy::ControlApi api{proxy};
    void SetUp() override {
        proxy.start();
        api.start();
    }
};

TEST_F(ControlFixture, AddListRemove) {
    auto r = request(api.port(), http::verb::post, "/impairments",
                     R"({"name":"lag","direction":"downstream","latency":"100ms","jitter":"5ms"})");
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.body_json()["latency"], "100ms");
    r = request(api.port(), http::verb::get, "/impairments");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/json");
    ASSERT_EQ(r.body_json().size(), 1u);
    EXPECT_EQ(r.body_json()[0]["name"], "lag");
    EXPECT_EQ(r.body_json()[0]["direction"], "downstream");
    ASSERT_EQ(proxy.list().size(), 1u);
    EXPECT_EQ(proxy.list()[0].jitter, std::chrono::milliseconds(5));

    // The same name again replaces it.
    EXPECT_EQ(
        request(api.port(), http::verb::post, "/impairments", R"({"name":"lag","latency":"1s"})")
            .status,
        201);
    ASSERT_EQ(proxy.list().size(), 1u);
    EXPECT_EQ(proxy.list()[0].latency, std::chrono::seconds(1));

    r = request(api.port(), http::verb::delete_, "/impairments/lag");
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(proxy.list().empty());
    r = request(api.port(), http::verb::delete_, "/impairments/lag");
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body_json()["error"].get<std::string>().find("lag"), std::string::npos);
}

TEST_F(ControlFixture, BadRequestsNameTheProblem) {
    auto r =
        request(api.port(), http::verb::post, "/impairments", R"({"name":"x","bandwidth":"lots"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body_json()["error"].get<std::string>().find("'bandwidth'"), std::string::npos)
        << r.body;
    r = request(api.port(), http::verb::post, "/impairments", "{not json");
    EXPECT_EQ(r.status, 400);
    EXPECT_TRUE(r.body_json().contains("error"));
    r = request(api.port(), http::verb::get, "/nowhere");
    EXPECT_EQ(r.status, 404);
    EXPECT_TRUE(r.body_json().contains("error"));
    r = request(api.port(), http::verb::put, "/impairments", "{}");
    EXPECT_EQ(r.status, 405);
    EXPECT_TRUE(r.body_json().contains("error"));
    r = request(api.port(), http::verb::post, "/partition", R"({"on":"yes"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body_json()["error"].get<std::string>().find("'on'"), std::string::npos);
    EXPECT_TRUE(proxy.list().empty());
}

TEST_F(ControlFixture, PartitionResetAndStats) {
    TcpClient c(proxy.port(), std::chrono::milliseconds(300));
    ASSERT_TRUE(c.send("one"));
    ASSERT_EQ(c.read_exact(3), "one");
    auto r = request(api.port(), http::verb::post, "/partition", R"({"on":true})");
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(proxy.partitioned());
    ASSERT_TRUE(c.send("two"));
    EXPECT_EQ(c.read_exact(3), "");
    EXPECT_EQ(request(api.port(), http::verb::post, "/partition", R"({"on":false})").status, 200);
    c.set_timeout(std::chrono::seconds(5));
    EXPECT_EQ(c.read_exact(3), "two");

    r = request(api.port(), http::verb::get, "/stats");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_json()["accepted"], 1);
    EXPECT_EQ(r.body_json()["bytes_up"], 6);
    EXPECT_EQ(r.body_json()["partition"], false);

    EXPECT_EQ(request(api.port(), http::verb::post, "/reset").status, 200);
    EXPECT_EQ(c.read_exact(1), "");
    EXPECT_EQ(c.last_errno(), ECONNRESET);
    EXPECT_TRUE(wait_until(
        [&] { return request(api.port(), http::verb::get, "/stats").body_json()["resets"] == 1; }));
}

}  // namespace
}  // namespace streambed::testing
