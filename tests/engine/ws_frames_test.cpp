// ws_frames_test.cpp: the framing of plain connections without a socket — a client's masked
// frames read into messages and control frames, every protocol error with its close code, the
// server's control frames and the upgrade's accept key.
#include "engine/ws_frames.hpp"

#include <gtest/gtest.h>

#include <string>

namespace streambed::engine {
namespace {

// A client's frame (RFC 6455 §5.2): masked unless told otherwise.
std::string client_frame(unsigned opcode, std::string_view payload, bool fin = true,
                         bool masked = true) {
    std::string f;
    f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
    const char mask_bit = masked ? static_cast<char>(0x80) : 0;
    if (payload.size() < 126) {
        f.push_back(static_cast<char>(mask_bit | static_cast<char>(payload.size())));
    } else if (payload.size() <= 0xffff) {
        f.push_back(static_cast<char>(mask_bit | 126));
        f.push_back(static_cast<char>(payload.size() >> 8));
        f.push_back(static_cast<char>(payload.size() & 0xff));
    } else {
        f.push_back(static_cast<char>(mask_bit | 127));
        for (int i = 7; i >= 0; --i)
            f.push_back(
                static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> (8 * i)) & 0xff));
    }
    const char key[4] = {0x37, static_cast<char>(0xfa), 0x21, 0x3d};
    if (masked) f.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        f.push_back(masked ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i]);
    return f;
}

// Every event read from `bytes`, as "kind:payload" (failed and close with their code).
std::vector<std::string> read_all(FrameReader& r, std::string bytes) {
    std::vector<std::string> out;
    std::span<char> rest(bytes.data(), bytes.size());
    for (;;) {
        const auto s = r.step(rest);
        if (s.status == ReadStep::need_more) break;
        rest = rest.subspan(s.used);
        if (s.status == ReadStep::consumed) continue;
        const auto& e = s.event;
        static const char* kinds[] = {"text", "binary", "ping", "pong", "close", "failed"};
        std::string line = kinds[e.kind];
        if (e.kind == ReadEvent::close || e.kind == ReadEvent::failed)
            line += ":" + std::to_string(e.code);
        out.push_back(line + ":" + std::string(e.payload));
        if (e.kind == ReadEvent::close || e.kind == ReadEvent::failed) break;
    }
    return out;
}

using Events = std::vector<std::string>;

TEST(FrameReader, TheRfcsMaskedHelloIsOneTextMessage) {
    FrameReader r(1024);
    const unsigned char rfc[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    EXPECT_EQ(read_all(r, std::string(reinterpret_cast<const char*>(rfc), sizeof rfc)),
              Events{"text:Hello"});
}

TEST(FrameReader, APartialFrameUsesNothingUntilItIsWhole) {
    FrameReader r(1024);
    const auto frame = client_frame(0x1, std::string(300, 'a'));  // a 16-bit length
    for (std::size_t cut : {std::size_t{1}, std::size_t{3}, std::size_t{7}, frame.size() - 1}) {
        std::string part = frame.substr(0, cut);
        EXPECT_EQ(r.step({part.data(), part.size()}).status, ReadStep::need_more) << cut;
    }
    EXPECT_EQ(read_all(r, frame), Events{"text:" + std::string(300, 'a')});
}

TEST(FrameReader, FragmentsJoinIntoOneMessageAndControlFramesMayComeBetween) {
    FrameReader r(1024);
    const auto bytes = client_frame(0x1, "{\"act", false) + client_frame(0x9, "p") +
                       client_frame(0x0, "ion\":", false) + client_frame(0x0, "1}");
    EXPECT_EQ(read_all(r, bytes), (Events{"ping:p", "text:{\"action\":1}"}));
    EXPECT_FALSE(r.in_message());
}

TEST(FrameReader, LengthsOfEveryEncodingAreRead) {
    for (std::size_t n : {std::size_t{0}, std::size_t{125}, std::size_t{126}, std::size_t{65535},
                          std::size_t{65536}}) {
        FrameReader r(1 << 20);
        EXPECT_EQ(read_all(r, client_frame(0x2, std::string(n, 'b'))),
                  Events{"binary:" + std::string(n, 'b')});
    }
}

TEST(FrameReader, AMessageOverTheLimitFailsWith1009FromItsHeaderAlone) {
    FrameReader r(100);
    EXPECT_EQ(read_all(r, client_frame(0x1, std::string(100, 'a'))),
              Events{"text:" + std::string(100, 'a')});
    // Only the header has arrived: the payload is never waited for.
    EXPECT_EQ(read_all(r, client_frame(0x1, std::string(101, 'a')).substr(0, 8)),
              Events{"failed:1009:message larger than the inbound limit"});
    // Fragments count together.
    FrameReader f(100);
    EXPECT_EQ(read_all(f, client_frame(0x1, std::string(60, 'a'), false) +
                              client_frame(0x0, std::string(41, 'a'))),
              Events{"failed:1009:message larger than the inbound limit"});
}

TEST(FrameReader, ProtocolErrorsFailWith1002) {
    const std::pair<std::string, std::string> cases[] = {
        {client_frame(0x1, "x", true, false), "a client's frame must be masked"},
        {client_frame(0x3, "x"), "unknown opcode"},
        {client_frame(0xB, "x"), "unknown opcode"},
        {client_frame(0x9, "x", false), "a control frame must be whole and short"},
        {client_frame(0x9, std::string(126, 'x')), "a control frame must be whole and short"},
        {client_frame(0x0, "x"), "a continuation frame outside a message"},
        {client_frame(0x1, "x", false) + client_frame(0x1, "y"),
         "a new message before the last one ended"},
        {client_frame(0x8, "\x03"), "a close frame with an invalid code"},
        {client_frame(0x8, std::string("\x03\xed", 2)), "a close frame with an invalid code"},
    };
    for (const auto& [bytes, why] : cases) {
        FrameReader r(1024);
        EXPECT_EQ(read_all(r, bytes), Events{"failed:1002:" + why}) << why;
    }
    std::string rsv = client_frame(0x1, "x");
    rsv[0] = static_cast<char>(rsv[0] | 0x40);  // RSV1 without permessage-deflate
    FrameReader r(1024);
    EXPECT_EQ(read_all(r, rsv), Events{"failed:1002:reserved bits set"});
}

TEST(FrameReader, TextThatIsNotUtf8FailsWith1007) {
    FrameReader r(1024);
    EXPECT_EQ(read_all(r, client_frame(0x1, "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
              Events{"text:ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"});
    EXPECT_EQ(read_all(r, client_frame(0x1, "\xc0\xaf")),
              Events{"failed:1007:a text message that is not UTF-8"});
    // Binary messages are not checked (the session refuses them with 1003).
    FrameReader b(1024);
    EXPECT_EQ(read_all(b, client_frame(0x2, "\xff")), Events{"binary:\xff"});
}

TEST(FrameReader, CloseFramesGiveTheirCodeAndReason) {
    FrameReader a(1024);
    EXPECT_EQ(read_all(a, client_frame(0x8, std::string("\x03\xe8going", 7))),
              Events{"close:1000:going"});
    FrameReader b(1024);
    EXPECT_EQ(read_all(b, client_frame(0x8, "")), Events{"close:1005:"});
    FrameReader c(1024);
    EXPECT_EQ(read_all(c, client_frame(0x8, std::string("\x0f\xa0", 2))), Events{"close:4000:"});
}

TEST(Utf8, OverlongSurrogateAndOutOfRangeFormsAreRefused) {
    EXPECT_TRUE(valid_utf8(""));
    EXPECT_TRUE(valid_utf8("plain ASCII, longer than eight bytes"));
    EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
    EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong '/'
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a UTF-16 surrogate
    EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(valid_utf8("abcdefgh\xe2\x82"));  // cut short
    EXPECT_FALSE(valid_utf8("\x80"));
}

TEST(ServerFrames, ControlFramesAreUnmaskedAndBounded) {
    EXPECT_EQ(ping_frame(""), std::string("\x89\x00", 2));
    EXPECT_EQ(pong_frame("abc"), std::string("\x8a\x03"
                                             "abc",
                                             5));
    EXPECT_EQ(pong_frame(std::string(200, 'x')).size(), 2u + 125u);
    EXPECT_EQ(close_frame(CloseCode::too_big, "big"), std::string("\x88\x05\x03\xf1"
                                                                  "big",
                                                                  7));
    EXPECT_EQ(close_frame(CloseCode::normal, std::string(200, 'r')).size(), 2u + 125u);
    EXPECT_EQ(close_frame(CloseCode::no_status, "ignored"), std::string("\x88\x00", 2));
}

TEST(Upgrade, TheAcceptKeyIsTheRfcsExample) {
    EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    const auto r = upgrade_response("dGhlIHNhbXBsZSBub25jZQ==");
    EXPECT_EQ(r.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
    EXPECT_NE(r.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
    EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace streambed::engine
