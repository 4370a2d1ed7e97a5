// transport_test.cpp: the transport options of the spec — permessage-deflate negotiated only
// when enabled, and TLS (https:// and wss://) with a certificate and key — and the Transport
// under Beast that carries both (engine/transport.hpp).
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <random>

#include "engine/transport.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

using engine::Endpoint;
using engine::MessageType;

// A connected pair of TCP sockets on loopback.
struct SocketPair {
    asio::io_context ioc;
    asio::ip::tcp::socket ours{ioc}, peer{ioc};
    SocketPair() {
        asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        ours.connect(acceptor.local_endpoint());
        acceptor.accept(peer);
    }
};

// Text that permessage-deflate cannot shrink much: a client's compressed message is still
// about as long on the wire.
std::string incompressible(std::size_t size) {
    std::mt19937 random(7);
    std::string s(size, ' ');
    for (auto& c : s) c = static_cast<char>('!' + random() % 90);
    return s;
}

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

TEST(Deflate, AMessageOverTheLimitIsClosedWith1009AfterTheRestIsDrainedNotReset) {
    auto o = test_options();
    o.deflate = true;
    TestServer srv(o);
    WsClient c(srv.port(), "/ws/metrics", std::chrono::seconds(5), {}, true);
    ASSERT_NE(c.extensions().find("permessage-deflate"), std::string::npos);
    c.read_json();
    // Refused at the first frame, most of the message still to come: the server reads the rest
    // to its end so that its close frame reaches the client.
    c.send(R"({"action":"ping","id":")" + incompressible(o.inbound_limit_bytes * 16) + R"("})");
    EXPECT_FALSE(c.read());
    EXPECT_EQ(c.close_code(), 1009);
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

TEST(Transport, AWriteOfMoreBuffersThanOneCallPassesOnArrivesWholeAndInOrder) {
    SocketPair pair;
    auto moved = engine::Transport::plain(std::move(pair.ours));
    auto transport = std::move(moved);  // what a pending operation uses moves with it
    std::vector<std::string> parts;
    std::string expected;
    for (std::size_t i = 0; i < engine::Transport::kMaxBuffers * 3; ++i) {
        parts.push_back(i % 4 == 0 ? std::string() : "part " + std::to_string(i) + ";");
        expected += parts.back();
    }
    std::vector<asio::const_buffer> buffers;
    for (auto& part : parts) buffers.push_back(asio::buffer(part));
    ASSERT_FALSE(step(pair.ioc, [&](auto h) { asio::async_write(transport, buffers, h); }));
    std::string got(expected.size(), '\0');
    asio::read(pair.peer, asio::buffer(got));
    EXPECT_EQ(got, expected);
}

TEST(Transport, AReadFillsTheBuffersOfASequenceInOrder) {
    SocketPair pair;
    auto transport = engine::Transport::plain(std::move(pair.ours));
    EXPECT_FALSE(transport.is_tls());
    asio::write(pair.peer, asio::buffer(std::string_view("hello, world")));
    std::string a(5, '.'), b(2, '.'), c(5, '.');
    const std::array buffers{asio::buffer(a), asio::buffer(b), asio::buffer(c)};
    ASSERT_FALSE(step(pair.ioc, [&](auto h) { asio::async_read(transport, buffers, h); }));
    EXPECT_EQ(a + b + c, "hello, world");
}

using WssStream = beast::websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// A client of the fixture certificate: TLS, then the WebSocket handshake to /ws/metrics.
::testing::AssertionResult open_wss(asio::io_context& ioc, WssStream& ws, std::uint16_t port) {
    beast::get_lowest_layer(ws).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    if (auto ec = step(ioc, [&](auto h) {
            ws.next_layer().async_handshake(asio::ssl::stream_base::client, h);
        }))
        return ::testing::AssertionFailure() << "TLS handshake: " << ec.message();
    beast::get_lowest_layer(ws).expires_never();
    if (auto ec = step(ioc, [&](auto h) { ws.async_handshake("127.0.0.1", "/ws/metrics", h); }))
        return ::testing::AssertionFailure() << "WebSocket handshake: " << ec.message();
    return ::testing::AssertionSuccess();
}

asio::ssl::context fixture_client_tls() {
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.load_verify_file(kFixtures + "/tls/cert.pem");
    tls.set_verify_mode(asio::ssl::verify_peer);
    return tls;
}

engine::ServerOptions tls_options() {
    auto o = test_options();
    o.tls_cert_file = kFixtures + "/tls/cert.pem";
    o.tls_key_file = kFixtures + "/tls/key.pem";
    return o;
}

using HttpsStream = beast::ssl_stream<beast::tcp_stream>;

// A client of the fixture certificate: TLS, then GET /q/health.
::testing::AssertionResult get_health(asio::io_context& ioc, HttpsStream& https, std::uint16_t port,
                                      bool keep_alive,
                                      beast::http::response<beast::http::string_body>& res) {
    beast::get_lowest_layer(https).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    if (auto ec =
            step(ioc, [&](auto h) { https.async_handshake(asio::ssl::stream_base::client, h); }))
        return ::testing::AssertionFailure() << "TLS handshake: " << ec.message();
    beast::http::request<beast::http::empty_body> req{beast::http::verb::get, "/q/health", 11};
    req.set(beast::http::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    if (auto ec = step(ioc, [&](auto h) { beast::http::async_write(https, req, h); }))
        return ::testing::AssertionFailure() << "request: " << ec.message();
    beast::flat_buffer buf;
    if (auto ec = step(ioc, [&](auto h) { beast::http::async_read(https, buf, res, h); }))
        return ::testing::AssertionFailure() << "response: " << ec.message();
    return ::testing::AssertionSuccess();
}

TEST(Tls, WssAndHttpsWithACertificate) {
    TestServer srv(tls_options());
    EXPECT_EQ(srv.server().url().substr(0, 8), "https://");
    auto m = srv.declare(Endpoint::metrics, "metrics");
    auto sent = srv.publish_n(m, MessageType::metrics, 1);

    asio::io_context ioc;
    auto tls = fixture_client_tls();
    WssStream ws(ioc, tls);
    ASSERT_TRUE(open_wss(ioc, ws, srv.port()));
    beast::flat_buffer buf;
    ASSERT_FALSE(step(ioc, [&](auto h) { ws.async_read(buf, h); }));
    EXPECT_EQ(json::parse(beast::buffers_to_string(buf.data()))["type"], "welcome");
    buf.clear();
    ASSERT_FALSE(step(ioc, [&](auto h) { ws.async_read(buf, h); }));
    EXPECT_EQ(beast::buffers_to_string(buf.data()), sent->bytes);

    // https:// on the same port.
    HttpsStream https(ioc, tls);
    beast::http::response<beast::http::string_body> res;
    ASSERT_TRUE(get_health(ioc, https, srv.port(), /*keep_alive=*/true, res));
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_EQ(json::parse(res.body())["status"], "UP");
}

TEST(Tls, AnHttpsRequestThatClosesEndsWithTheServersCloseNotify) {
    TestServer srv(tls_options());
    asio::io_context ioc;
    auto tls = fixture_client_tls();
    HttpsStream https(ioc, tls);
    beast::http::response<beast::http::string_body> res;
    ASSERT_TRUE(get_health(ioc, https, srv.port(), /*keep_alive=*/false, res));
    EXPECT_FALSE(res.keep_alive());
    // A TLS end (eof), not a connection dropped under it (stream_truncated).
    std::array<char, 16> rest{};
    EXPECT_EQ(step(ioc, [&](auto h) { https.async_read_some(asio::buffer(rest), h); }),
              asio::error::eof);
}

TEST(Tls, AMessageOverTheLimitIsClosedWith1009AndTheServerCarriesOn) {
    TestServer srv(tls_options());
    asio::io_context ioc;
    auto tls = fixture_client_tls();
    WssStream ws(ioc, tls);
    ASSERT_TRUE(open_wss(ioc, ws, srv.port()));
    beast::flat_buffer buf;
    ASSERT_FALSE(step(ioc, [&](auto h) { ws.async_read(buf, h); }));  // the welcome
    const auto big = R"({"action":"ping","id":")" + std::string(256 << 10, 'x') + R"("})";
    // The write may fail once the server has closed; what counts is the close it sent.
    step(ioc, [&](auto h) { ws.async_write(asio::buffer(big), h); });
    buf.clear();
    EXPECT_EQ(step(ioc, [&](auto h) { ws.async_read(buf, h); }), beast::websocket::error::closed);
    EXPECT_EQ(ws.reason().code, 1009);

    WssStream next(ioc, tls);
    ASSERT_TRUE(open_wss(ioc, next, srv.port()));
    buf.clear();
    ASSERT_FALSE(step(ioc, [&](auto h) { next.async_read(buf, h); }));
    EXPECT_EQ(json::parse(beast::buffers_to_string(buf.data()))["type"], "welcome");
}

TEST(Tls, PlainClientGetsNothingFromATlsServer) {
    TestServer srv(tls_options());
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
