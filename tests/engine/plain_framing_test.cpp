// plain_framing_test.cpp: ws:// connections speak RFC 6455 with frames of the server's own,
// seen from a raw socket: the upgrade's accept key, pings answered, fragments and reads joined,
// every framing error closed with its code, the heartbeat, and the closing handshake.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;

// A WebSocket client of a few lines on a blocking socket: it sends exactly the bytes a test
// names (masked or not) and reads the server's frames one by one.
class RawClient {
  public:
    struct Frame {
        unsigned opcode;
        std::string payload;
    };

    RawClient(std::uint16_t port, const std::string& target) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        timeval tv{5, 0};  // no read waits longer: a test fails rather than hangs
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("connect failed");
        send_raw("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" +
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
                 "Sec-WebSocket-Version: 13\r\n\r\n");
        while (buf_.find("\r\n\r\n") == std::string::npos)
            if (!fill()) throw std::runtime_error("no upgrade response");
        const auto end = buf_.find("\r\n\r\n") + 4;
        response = buf_.substr(0, end);
        buf_.erase(0, end);
    }
    ~RawClient() { ::close(fd_); }

    void send_raw(const std::string& bytes) {
        ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(bytes.size()));
    }
    void send_frame(unsigned opcode, std::string_view payload, bool fin = true,
                    bool masked = true) {
        send_raw(frame(opcode, payload, fin, masked));
    }
    // `bytes` of junk, until sent or the server has closed (errors end it, as they may).
    void send_junk(std::size_t bytes) {
        const std::string chunk(64 << 10, 'j');
        for (std::size_t sent = 0; sent < bytes; sent += chunk.size())
            if (::send(fd_, chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0) return;
    }
    // One byte per send (Nagle off): the server's reads end anywhere inside the frame.
    void send_bytewise(const std::string& bytes) {
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        for (char b : bytes) send_raw(std::string(1, b));
    }
    static std::string frame(unsigned opcode, std::string_view payload, bool fin = true,
                             bool masked = true) {
        std::string f{static_cast<char>((fin ? 0x80 : 0) | opcode)};
        const char mask_bit = masked ? static_cast<char>(0x80) : 0;
        if (payload.size() < 126) {
            f.push_back(static_cast<char>(mask_bit | static_cast<char>(payload.size())));
        } else {  // 16-bit lengths are enough here
            f.push_back(static_cast<char>(mask_bit | 126));
            f.push_back(static_cast<char>(payload.size() >> 8));
            f.push_back(static_cast<char>(payload.size() & 0xff));
        }
        const char key[4] = {1, 2, 3, 4};
        if (masked) f.append(key, 4);
        for (std::size_t i = 0; i < payload.size(); ++i)
            f.push_back(masked ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i]);
        return f;
    }

    // The next frame, or nothing once the server has closed the connection (or after 5 s).
    std::optional<Frame> read_frame() {
        for (;;) {
            const std::size_t len7 =
                buf_.size() >= 2 ? static_cast<unsigned char>(buf_[1]) & 0x7f : 0;
            const std::size_t header = len7 == 127 ? 10 : len7 == 126 ? 4 : 2;
            if (buf_.size() >= header) {
                std::size_t len = len7;
                if (len7 >= 126) {
                    len = 0;
                    for (std::size_t i = 2; i < header; ++i)
                        len = (len << 8) | static_cast<unsigned char>(buf_[i]);
                }
                if (buf_.size() >= header + len) {
                    Frame f{static_cast<unsigned char>(buf_[0]) & 0x0fu, buf_.substr(header, len)};
                    buf_.erase(0, header + len);
                    return f;
                }
            }
            if (!fill()) return std::nullopt;
        }
    }
    // Skips frames until one with `opcode`.
    std::optional<Frame> read_until(unsigned opcode) {
        while (auto f = read_frame())
            if (f->opcode == opcode) return f;
        return std::nullopt;
    }
    // The server ended the connection: end of stream (or a reset), not a timeout.
    bool ended() {
        while (fill()) buf_.clear();
        return ended_;
    }

    std::string response;

  private:
    bool fill() {
        char chunk[4096];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) {
            ended_ = n == 0 || errno == ECONNRESET;
            return false;
        }
        buf_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_;
    std::string buf_;
    bool ended_ = false;
};

unsigned close_code(const RawClient::Frame& f) {
    return f.payload.size() >= 2 ? (static_cast<unsigned char>(f.payload[0]) << 8) |
                                       static_cast<unsigned char>(f.payload[1])
                                 : 0;
}

TEST(PlainFraming, TheUpgradeCarriesTheAcceptKeyAndTheWelcomeFollows) {
    TestServer srv;
    RawClient c(srv.port(), "/ws/channels");
    EXPECT_EQ(c.response.rfind("HTTP/1.1 101 ", 0), 0u) << c.response;
    EXPECT_NE(c.response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
              std::string::npos);
    const auto welcome = c.read_frame();
    ASSERT_TRUE(welcome);
    EXPECT_EQ(welcome->opcode, 0x1u);
    EXPECT_EQ(json::parse(welcome->payload)["type"], "welcome");
}

TEST(PlainFraming, PingsAreAnsweredAndFragmentsJoinIntoOneMessage) {
    TestServer srv;
    srv.declare(Endpoint::channels, "ch-1");
    RawClient c(srv.port(), "/ws/channels");
    c.read_frame();  // the welcome
    c.send_frame(0x1, R"({"action":"sub)", false);
    c.send_frame(0x9, "are you there");  // a control frame between fragments
    c.send_frame(0x0, R"(scribe","channels")", false);
    c.send_frame(0x0, R"(:["ch-1"]})");
    const auto pong = c.read_frame();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->opcode, 0xAu);
    EXPECT_EQ(pong->payload, "are you there");
    const auto reply = c.read_until(0x1);
    ASSERT_TRUE(reply);
    EXPECT_EQ(json::parse(reply->payload)["type"], "subscribed") << reply->payload;
}

// A message larger than one read (the thread's buffer is 16 KiB) arrives over several and is put
// together from them; so is one sent a byte at a time.
TEST(PlainFraming, AMessageOverSeveralReadsIsPutTogether) {
    TestServer srv;
    srv.declare(Endpoint::channels, "ch-1");
    RawClient c(srv.port(), "/ws/channels");
    c.read_frame();
    std::string names;
    for (int i = 0; i < 40; ++i) names += fmt::format(R"("{}-{}",)", std::string(1000, 'x'), i);
    c.send_frame(0x1, R"({"action":"subscribe","channels":[)" + names + R"("ch-1"]})");
    std::optional<json> error;
    while (!error) {
        const auto f = c.read_until(0x1);
        ASSERT_TRUE(f);
        if (auto j = json::parse(f->payload); j["type"] == "error") error = j;
    }
    EXPECT_EQ((*error)["code"], "unknown_channel");
    c.send_bytewise(RawClient::frame(0x1, R"({"action":"ping","id":42})"));
    std::optional<json> pong;
    while (!pong) {
        const auto f = c.read_until(0x1);
        ASSERT_TRUE(f);
        if (auto j = json::parse(f->payload); j["type"] == "pong") pong = j;
    }
    EXPECT_EQ((*pong)["id"], 42);
}

TEST(PlainFraming, FramingErrorsCloseWithTheirCodeAndOtherClientsCarryOn) {
    TestServer srv;
    WsClient other(srv.port(), "/ws/channels");
    other.read_json();
    const std::pair<int, unsigned> cases[] = {{0, 1002}, {1, 1007}, {2, 1002}, {3, 1009}};
    for (const auto& [which, code] : cases) {
        RawClient c(srv.port(), "/ws/channels");
        c.read_frame();
        if (which == 0) c.send_frame(0x1, R"({"action":"ping","id":1})", true, /*masked=*/false);
        if (which == 1) c.send_frame(0x1, "\xc0\xaf");
        if (which == 2) c.send_frame(0x0, "a continuation of nothing");
        if (which == 3) c.send_raw(std::string("\x81\xff\x00\x00\x00\x00\x01\x00\x00\x00", 10));
        const auto close = c.read_until(0x8);
        ASSERT_TRUE(close) << which;
        EXPECT_EQ(close_code(*close), code) << which;
        EXPECT_TRUE(c.ended()) << which;
    }
    other.send(R"({"action":"ping","id":5})");
    EXPECT_EQ(other.read_until_type("pong")["id"], 5);
}

TEST(PlainFraming, ASilentConnectionIsPingedThenDropped) {
    auto o = test_options();
    o.heartbeat = std::chrono::milliseconds(100);
    TestServer srv(o);
    RawClient c(srv.port(), "/ws/channels");
    EXPECT_EQ(json::parse(c.read_frame()->payload)["heartbeatMs"], 100);
    const auto ping = c.read_frame();  // after one silent heartbeat
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->opcode, 0x9u);
    // Never answered: dropped after the second one (the read would wait 5 s, not end).
    EXPECT_TRUE(c.ended());
    EXPECT_TRUE(wait_until([&] {
        return http_get(srv.port(), "/api/v11/websocket/stats").body_json()["activeConnections"] ==
               0;
    }));
}

TEST(PlainFraming, AnAnsweringConnectionStaysOpen) {
    auto o = test_options();
    o.heartbeat = std::chrono::milliseconds(100);
    TestServer srv(o);
    RawClient c(srv.port(), "/ws/channels");
    c.read_frame();
    for (int i = 0; i < 4; ++i) {
        const auto ping = c.read_frame();
        ASSERT_TRUE(ping) << i;
        ASSERT_EQ(ping->opcode, 0x9u);
        c.send_frame(0xA, ping->payload);
    }
    c.send_frame(0x1, R"({"action":"ping","id":3})");
    const auto pong = c.read_until(0x1);
    ASSERT_TRUE(pong);
    EXPECT_EQ(json::parse(pong->payload)["id"], 3);
}

TEST(PlainFraming, AClientsCloseIsEchoedAndTheServerEndsTheConnection) {
    TestServer srv;
    RawClient c(srv.port(), "/ws/channels");
    c.read_frame();
    c.send_frame(0x8, std::string("\x0f\xa0"
                                  "bye",
                                  5));  // 4000
    const auto echo = c.read_until(0x8);
    ASSERT_TRUE(echo);
    EXPECT_EQ(close_code(*echo), 4000u);
    EXPECT_TRUE(c.ended());
}

// A close frame without a code is answered with one without a code (RFC 6455 §5.5.1).
TEST(PlainFraming, ACloseWithoutACodeIsEchoedWithoutOne) {
    TestServer srv;
    RawClient c(srv.port(), "/ws/channels");
    c.read_frame();
    c.send_frame(0x8, "");
    const auto echo = c.read_until(0x8);
    ASSERT_TRUE(echo);
    EXPECT_EQ(echo->payload, "");
    EXPECT_TRUE(c.ended());
}

// A peer that never finishes the closing handshake (it neither answers nor closes) holds its
// connection only until --handshake-timeout: then its place under --max-connections is free.
TEST(PlainFraming, APeerThatNeverFinishesClosingIsDroppedAtTheHandshakeTimeout) {
    auto o = test_options();
    o.max_connections = 1;
    o.handshake_timeout = std::chrono::milliseconds(1000);
    TestServer srv(o);
    RawClient stuck(srv.port(), "/ws/channels");
    stuck.read_frame();
    stuck.send_frame(0x1, "x", true, /*masked=*/false);  // the server closes with 1002
    const auto close = stuck.read_until(0x8);
    ASSERT_TRUE(close);
    const auto upgraded = [&] {
        RawClient next(srv.port(), "/ws/channels");
        return next.response.rfind("HTTP/1.1 101 ", 0) == 0;
    };
    EXPECT_FALSE(upgraded()) << "the closing connection no longer counted";
    EXPECT_TRUE(wait_until(upgraded, std::chrono::seconds(5)));
}

// A peer that goes on sending after the close (the rest of a refused message, say) is drained,
// but only up to 4 MiB: past that it is dropped well before the closing deadline (10 s here).
TEST(PlainFraming, APeerSendingOnAfterTheCloseIsDroppedPastTheDrainLimit) {
    auto o = test_options();
    o.max_connections = 1;
    TestServer srv(o);
    RawClient flood(srv.port(), "/ws/channels");
    flood.read_frame();
    flood.send_raw(std::string("\x81\xff\x00\x00\x00\x00\x10\x00\x00\x00", 10));  // 256 MiB
    const auto close = flood.read_until(0x8);
    ASSERT_TRUE(close);
    EXPECT_EQ(close_code(*close), 1009u);
    flood.send_junk(std::size_t{6} << 20);
    EXPECT_TRUE(wait_until(
        [&] {
            RawClient next(srv.port(), "/ws/channels");
            return next.response.rfind("HTTP/1.1 101 ", 0) == 0;
        },
        std::chrono::seconds(5)));
}

}  // namespace
}  // namespace streambed::testing
