// unit_splitter_test.cpp: unit boundaries do not depend on read boundaries — HTTP heads,
// WebSocket frames with 7-, 16- and 64-bit lengths, masked and not, raw 1 KiB pieces.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/connection.hpp"
#include "proxy/unit_splitter.hpp"

namespace streambed::proxy {
namespace {

std::string frame(std::size_t payload, bool masked, std::uint8_t opcode = 1) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    const char mask = masked ? char(0x80) : char(0);
    if (payload < 126) {
        f.push_back(static_cast<char>(mask | static_cast<char>(payload)));
    } else if (payload < 65536) {
        f.push_back(static_cast<char>(mask | 126));
        f.push_back(static_cast<char>(payload >> 8));
        f.push_back(static_cast<char>(payload & 0xff));
    } else {
        f.push_back(static_cast<char>(mask | 127));
        for (int k = 7; k >= 0; --k)
            f.push_back(static_cast<char>((std::uint64_t(payload) >> (8 * k)) & 0xff));
    }
    if (masked) f += "abcd";
    f += std::string(payload, 'x');
    return f;
}

// The units' lengths, feeding `bytes` in chunks of `chunk`.
std::vector<std::size_t> units(UnitSplitter::Start start, const std::string& bytes,
                               std::size_t chunk) {
    UnitSplitter s(start);
    std::vector<Segment> segs;
    for (std::size_t off = 0; off < bytes.size(); off += chunk)
        s.split(std::string_view(bytes).substr(off, chunk), segs);
    std::vector<std::size_t> out;
    std::size_t current = 0;
    bool open = false;
    for (const auto& g : segs) {
        EXPECT_EQ(g.unit_start, !open) << "a unit starts only after the previous one ended";
        open = true;
        current += g.length;
        if (g.unit_end) {
            out.push_back(current);
            current = 0;
            open = false;
        }
    }
    if (open) out.push_back(current);  // the last, incomplete unit
    return out;
}

const std::string kRequest =
    "GET /ws/metrics HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "X-Streambed-Client: fleet/3/1\r\n\r\n";
const std::string kResponse = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";

TEST(UnitSplitter, ServerFramesAreUnitsWhateverTheReads) {
    const std::string bytes =
        kResponse + frame(5, false) + frame(300, false) + frame(70'000, false) + frame(0, false);
    const std::vector<std::size_t> want{kResponse.size(), 2 + 5, 4 + 300, 10 + 70'000, 2};
    for (std::size_t chunk : {1u, 3u, 7u, 64u, 1000u, 16384u, 1u << 20})
        EXPECT_EQ(units(UnitSplitter::Start::http_response, bytes, chunk), want)
            << "chunk " << chunk;
}

TEST(UnitSplitter, ClientFramesAreMasked) {
    const std::string bytes = kRequest + frame(10, true) + frame(200, true);
    const std::vector<std::size_t> want{kRequest.size(), 2 + 4 + 10, 4 + 4 + 200};
    for (std::size_t chunk : {1u, 5u, 4096u})
        EXPECT_EQ(units(UnitSplitter::Start::http_request, bytes, chunk), want);
}

TEST(UnitSplitter, RawAndNonUpgradeStreamsAreKiBPieces) {
    const std::string raw(2500, 'r');
    for (std::size_t chunk : {1u, 999u, 4096u})
        EXPECT_EQ(units(UnitSplitter::Start::raw, raw, chunk),
                  (std::vector<std::size_t>{1024, 1024, 452}));
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 1500\r\n\r\n";
    EXPECT_EQ(units(UnitSplitter::Start::http_response, ok + std::string(1500, 'b'), 100),
              (std::vector<std::size_t>{ok.size(), 1024, 476}));
}

TEST(UnitSplitter, AHeadIsBoundedAt16KiB) {
    const std::string endless = "GET / HTTP/1.1\r\nX: " + std::string(20'000, 'h');
    auto u = units(UnitSplitter::Start::http_request, endless, 4096);
    ASSERT_FALSE(u.empty());
    EXPECT_EQ(u[0], UnitSplitter::kMaxHead);
}

TEST(Head, KeyAndKind) {
    EXPECT_EQ(client_key(kRequest), "fleet/3/1");
    EXPECT_EQ(client_key("GET / HTTP/1.1\r\nx-streambed-client:  a/b/c  \r\n\r\n"), "a/b/c");
    EXPECT_EQ(client_key("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "");
    EXPECT_EQ(classify_head(kRequest, 16384), HeadKind::http);
    EXPECT_EQ(classify_head("GET / HTT", 16384), HeadKind::incomplete);
    EXPECT_EQ(classify_head("GE", 16384), HeadKind::incomplete);
    EXPECT_EQ(classify_head("ping", 16384), HeadKind::raw);
    EXPECT_EQ(classify_head(std::string("\x00\x01", 2), 16384), HeadKind::raw);
}

}  // namespace
}  // namespace streambed::proxy
