// transport_test.cpp: the transport options of the spec — permessage-deflate negotiated only
// when enabled, and TLS (https:// and wss://) with a certificate and key.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

using engine::Endpoint;
using engine::MessageType;

TEST(Deflate, OffByDefault) {
    TestServer srv;
    WsClient c(srv.port(), "/ws/metrics", std::chrono::seconds(5), {}, /*offer_deflate=*/true);
    EXPECT_EQ(c.extensions(), "");
    EXPECT_EQ(c.read_json()["type"], "welcome");
}

TEST(Deflate, NegotiatedWhenEnabledAndMessagesArriveIntact) {
    auto o = test_options();
    o.deflate = true;
    TestServer srv(o);
    auto m = srv.declare(Endpoint::metrics, "metrics");
    WsClient c(srv.port(), "/ws/metrics", std::chrono::seconds(5), {}, true);
    EXPECT_NE(c.extensions().find("permessage-deflate"), std::string::npos);
    c.read_json();
    auto sent =
        srv.publish(m, MessageType::metrics, 1, R"({"pad":")" + std::string(5000, 'a') + R"("})");
    EXPECT_EQ(c.read_text(), sent->bytes);
    WsClient plain(srv.port(), "/ws/metrics");  // a client that does not offer it still works
    EXPECT_EQ(plain.extensions(), "");
    EXPECT_EQ(plain.read_json()["type"], "welcome");
}

const std::string kFixtures = STREAMBED_FIXTURES;

// Runs one asynchronous step with a deadline.
template <class Start>
beast::error_code step(asio::io_context& ioc, Start start) {
    bool done = false;
    beast::error_code result;
    start([&](beast::error_code ec, auto&&...) {
        result = ec;
        done = true;
    });
    ioc.restart();
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done && std::chrono::steady_clock::now() < end)
        ioc.run_one_for(std::chrono::milliseconds(50));
    if (!done) return asio::error::timed_out;
    return result;
}

TEST(Tls, WssAndHttpsWithACertificate) {
    auto o = test_options();
    o.tls_cert_file = kFixtures + "/tls/cert.pem";
    o.tls_key_file = kFixtures + "/tls/key.pem";
    TestServer srv(o);
    EXPECT_EQ(srv.server().url().substr(0, 8), "https://");
    auto m = srv.declare(Endpoint::metrics, "metrics");
    auto sent = srv.publish_n(m, MessageType::metrics, 1);

    asio::io_context ioc;
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.load_verify_file(kFixtures + "/tls/cert.pem");
    tls.set_verify_mode(asio::ssl::verify_peer);
    beast::websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc, tls);
    beast::get_lowest_layer(ws).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.port()));
    ASSERT_FALSE(step(
        ioc, [&](auto h) { ws.next_layer().async_handshake(asio::ssl::stream_base::client, h); }));
    beast::get_lowest_layer(ws).expires_never();
    ASSERT_FALSE(step(ioc, [&](auto h) { ws.async_handshake("127.0.0.1", "/ws/metrics", h); }));
    beast::flat_buffer buf;
    ASSERT_FALSE(step(ioc, [&](auto h) { ws.async_read(buf, h); }));
    EXPECT_EQ(json::parse(beast::buffers_to_string(buf.data()))["type"], "welcome");
    buf.clear();
    ASSERT_FALSE(step(ioc, [&](auto h) { ws.async_read(buf, h); }));
    EXPECT_EQ(beast::buffers_to_string(buf.data()), sent->bytes);

    // https:// on the same port.
    beast::ssl_stream<beast::tcp_stream> https(ioc, tls);
    beast::get_lowest_layer(https).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.port()));
    ASSERT_FALSE(
        step(ioc, [&](auto h) { https.async_handshake(asio::ssl::stream_base::client, h); }));
    beast::http::request<beast::http::empty_body> req{beast::http::verb::get, "/q/health", 11};
    req.set(beast::http::field::host, "127.0.0.1");
    ASSERT_FALSE(step(ioc, [&](auto h) { beast::http::async_write(https, req, h); }));
    beast::http::response<beast::http::string_body> res;
    beast::flat_buffer hbuf;
    ASSERT_FALSE(step(ioc, [&](auto h) { beast::http::async_read(https, hbuf, res, h); }));
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_EQ(json::parse(res.body())["status"], "UP");
}

TEST(Tls, PlainClientGetsNothingFromATlsServer) {
    auto o = test_options();
    o.tls_cert_file = kFixtures + "/tls/cert.pem";
    o.tls_key_file = kFixtures + "/tls/key.pem";
    TestServer srv(o);
    EXPECT_ANY_THROW(WsClient(srv.port(), "/ws/metrics"));
}

TEST(Tls, MissingKeyOrUnreadableCertificateIsAClearError) {
    auto o = test_options();
    o.tls_cert_file = kFixtures + "/tls/cert.pem";
    try {
        engine::Server s(o);
        s.start();
        FAIL() << "started without a key";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("--tls-key"), std::string::npos);
    }
    o.tls_key_file = kFixtures + "/tls/README.md";  // not a key
    try {
        engine::Server s(o);
        s.start();
        FAIL() << "started with a bad key";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("README.md"), std::string::npos);
    }
}

}  // namespace
}  // namespace streambed::testing
