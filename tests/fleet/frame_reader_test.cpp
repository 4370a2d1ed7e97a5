// frame_reader_test.cpp: the load client's frame parser: every length form, bytes arriving one at a
// time, fragments with a control frame between them, compressed messages, and each malformed frame
// refused.
#include "fleet/frame_reader.hpp"

#include <gtest/gtest.h>

#include <boost/beast/zlib/deflate_stream.hpp>
#include <boost/beast/zlib/error.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace streambed::fleet {
namespace zlib = boost::beast::zlib;
namespace {

// A server frame: FIN, RSV1 and opcode in the first byte, the shortest length form, no mask.
std::string frame(std::uint8_t first, std::string_view payload) {
    std::string f(1, static_cast<char>(first));
    if (payload.size() < 126) {
        f += static_cast<char>(payload.size());
    } else if (payload.size() <= 0xFFFF) {
        f += static_cast<char>(126);
        f += static_cast<char>(payload.size() >> 8);
        f += static_cast<char>(payload.size() & 0xFF);
    } else {
        f += static_cast<char>(127);
        for (int shift = 56; shift >= 0; shift -= 8)
            f += static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> shift) & 0xFF);
    }
    return f + std::string(payload);
}

void feed(FrameReader& r, std::string_view bytes) {
    auto room = r.prepare(bytes.size());
    std::memcpy(room.data(), bytes.data(), bytes.size());
    r.commit(bytes.size());
}

struct Got {
    FrameKind kind;
    std::string payload;
};

// Feeds `bytes` in pieces of `step` and collects every frame; fails the test on an error.
std::vector<Got> read_all(FrameReader& r, std::string_view bytes, std::size_t step) {
    std::vector<Got> out;
    for (std::size_t at = 0; at < bytes.size(); at += step) {
        feed(r, bytes.substr(at, step));
        while (true) {
            auto res = r.next();
            if (res.status == FrameReader::Status::need_more) break;
            EXPECT_EQ(res.status, FrameReader::Status::frame) << res.error;
            if (res.status != FrameReader::Status::frame) return out;
            out.push_back({res.frame.kind, std::string(res.frame.payload)});
        }
    }
    return out;
}

std::string_view error_of(std::string_view bytes, bool inflate = false, std::size_t max = 1 << 20) {
    FrameReader r(max);
    if (inflate) r.enable_inflate();
    feed(r, bytes);
    static std::string last;
    auto res = r.next();
    last = res.status == FrameReader::Status::error ? std::string(res.error) : "";
    return last;
}

TEST(FrameReader, EveryLengthFormWholeAndOneByteAtATime) {
    const std::string small(5, 'a'), medium(300, 'b'), large(70000, 'c');
    const std::string wire = frame(0x81, small) + frame(0x81, medium) + frame(0x82, large);
    for (std::size_t step : {wire.size(), std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
        FrameReader r;
        auto got = read_all(r, wire, step);
        ASSERT_EQ(got.size(), 3u) << "step " << step;
        EXPECT_EQ(got[0].kind, FrameKind::text);
        EXPECT_EQ(got[0].payload, small);
        EXPECT_EQ(got[1].payload, medium);
        EXPECT_EQ(got[2].kind, FrameKind::binary);
        EXPECT_EQ(got[2].payload, large);
    }
}

TEST(FrameReader, FragmentsAreJoinedAndAControlFrameMayComeBetween) {
    const std::string wire = frame(0x01, "[{\"a\":") + frame(0x89, "are you there") +
                             frame(0x00, "1},") + frame(0x80, "{\"b\":2}]") + frame(0x8A, "") +
                             frame(0x88, "\x03\xe8");
    FrameReader r;
    auto got = read_all(r, wire, 3);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].kind, FrameKind::ping);
    EXPECT_EQ(got[0].payload, "are you there");
    EXPECT_EQ(got[1].kind, FrameKind::text);
    EXPECT_EQ(got[1].payload, "[{\"a\":1},{\"b\":2}]");
    EXPECT_EQ(got[2].kind, FrameKind::pong);
    EXPECT_EQ(got[3].kind, FrameKind::close);
    EXPECT_EQ(got[3].payload, "\x03\xe8");
}

TEST(FrameReader, CompressedMessagesInflateWithTheContextKept) {
    // RFC 7692: each message deflated with a sync flush, its 00 00 ff ff tail removed, the
    // compression context carried to the next message (the second refers back to the first).
    zlib::deflate_stream d;
    d.reset(6, 15, 8, zlib::Strategy::normal);
    auto deflate = [&](const std::string& text) {
        std::string out(text.size() + 64, '\0');
        zlib::z_params zs{};
        zs.next_in = text.data();
        zs.avail_in = text.size();
        zs.next_out = out.data();
        zs.avail_out = out.size();
        // As Beast's websocket::stream does it: the input, a block flush, then the sync flush.
        for (auto flush : {zlib::Flush::none, zlib::Flush::block, zlib::Flush::sync}) {
            boost::beast::error_code ec;
            d.write(zs, flush, ec);
            EXPECT_TRUE(!ec || ec == zlib::error::need_buffers) << ec.message();
        }
        out.resize(out.size() - zs.avail_out);
        EXPECT_TRUE(out.ends_with(std::string("\x00\x00\xff\xff", 4)));
        out.resize(out.size() - 4);
        return out;
    };
    const std::string one =
        R"({"type":"metrics","channel":"node","seq":1,"data":{"cpu":0.5,"mem":0.25}})";
    const std::string two =
        R"({"type":"metrics","channel":"node","seq":2,"data":{"cpu":0.5,"mem":0.25}})";
    const std::string first = deflate(one);  // in order: the second refers to the first
    const std::string second = deflate(two);
    const std::string wire = frame(0xC1, first) + frame(0xC1, second) + frame(0x81, "plain");
    FrameReader r;
    r.enable_inflate();
    auto got = read_all(r, wire, 5);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].payload, one);
    EXPECT_EQ(got[1].payload, two);
    EXPECT_EQ(got[2].payload, "plain");
}

TEST(FrameReader, MalformedFramesAreRefusedWithAReason) {
    EXPECT_EQ(error_of("\x81\x85"
                       "abcdhello"),
              "masked frame from the server");
    EXPECT_EQ(error_of(frame(0xC1, "x")), "RSV1 set where no compression was negotiated");
    EXPECT_EQ(error_of(frame(0xA1, "x")), "frame with RSV2 or RSV3 set");
    EXPECT_EQ(error_of(frame(0x09, "x")), "fragmented or long control frame");
    EXPECT_EQ(error_of(frame(0x89, std::string(126, 'p'))), "fragmented or long control frame");
    EXPECT_EQ(error_of(frame(0x80, "x")), "continuation frame outside a message");
    EXPECT_EQ(error_of(frame(0x83, "x")), "reserved opcode");
    EXPECT_EQ(error_of(frame(0x81, std::string(2000, 'x')), false, 1000),
              "message larger than the limit");
    EXPECT_EQ(error_of(frame(0xC1, "\xff\xff\xff\xff"), true), "bad compressed data");
    FrameReader r;
    feed(r, frame(0x01, "a") + frame(0x81, "b"));
    ASSERT_EQ(r.next().status, FrameReader::Status::error);
}

TEST(FrameReader, TheUpgradeResponseIsReadAheadOfTheFrames) {
    FrameReader r;
    const std::string head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    feed(r, head + frame(0x81, "welcome"));
    ASSERT_EQ(r.unparsed().substr(0, head.size()), head);
    r.consume(head.size());
    auto res = r.next();
    ASSERT_EQ(res.status, FrameReader::Status::frame);
    EXPECT_EQ(res.frame.payload, "welcome");
    EXPECT_EQ(r.next().status, FrameReader::Status::need_more);
}

}  // namespace
}  // namespace streambed::fleet
