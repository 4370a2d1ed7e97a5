// gathered_writer_test.cpp: the exact bytes of a gathered write — plain frames, ?batch=1 arrays,
// lone data messages and control messages in batch mode — and a write resumed from every byte
// offset, on a real socket pair.
#include "engine/gathered_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

namespace streambed::engine {
namespace {

MessagePtr data(std::string text, StreamId stream = 0) {
    auto m = std::make_shared<Message>();
    m->stream = stream;
    m->seq = 1;
    m->bytes = std::move(text);
    m->header = text_frame_header(m->bytes.size());
    return m;
}

MessagePtr control(std::string text) {
    return make_control(std::move(text));
}

// RFC 6455 text frame, FIN set, unmasked: written out here, not with text_frame_header.
std::string frame(const std::string& payload) {
    std::string f = "\x81";
    if (payload.size() < 126) {
        f += static_cast<char>(payload.size());
    } else {
        f += '\x7e';
        f += static_cast<char>(payload.size() >> 8);
        f += static_cast<char>(payload.size() & 0xff);
    }
    return f + payload;
}

std::string joined(std::span<const iovec> iov) {
    std::string out;
    for (const auto& v : iov) out.append(static_cast<const char*>(v.iov_base), v.iov_len);
    return out;
}

struct Iovecs {
    std::array<iovec, kGatherMaxIovecs> v;
    std::size_t n = 0;
    std::span<const iovec> span() const { return {v.data(), n}; }
};

Iovecs iovecs_of(const GatheredWriter& w, const std::vector<MessagePtr>& frames) {
    Iovecs out;
    out.n = w.iovecs(frames, out.v);
    return out;
}

TEST(GatheredWriter, PlainFramesAreHeaderThenPayloadEach) {
    const std::vector<MessagePtr> frames = {control(R"({"type":"welcome"})"), data(R"({"n":1})"),
                                            data(std::string(200, 'x'))};
    GatheredWriter w(false);
    w.plan(frames);
    const auto iov = iovecs_of(w, frames);
    ASSERT_EQ(iov.n, 6u);
    const std::string expected =
        frame(R"({"type":"welcome"})") + frame(R"({"n":1})") + frame(std::string(200, 'x'));
    EXPECT_EQ(joined(iov.span()), expected);
    EXPECT_EQ(iov.v[1].iov_base, frames[0]->bytes.data());  // the shared text, not a copy
    EXPECT_EQ(w.total(), expected.size());
    EXPECT_EQ(w.payload(), 18u + 7u + 200u);
    EXPECT_EQ(w.frame_count(frames.size()), 3u);
    EXPECT_EQ(w.max_messages(), kGatherMaxFrames);
    EXPECT_EQ(w.max_bytes(), kGatherMaxBytes);
}

TEST(GatheredWriter, ABatchOfDataMessagesIsOneArrayFrame) {
    const std::vector<MessagePtr> frames = {data(R"({"n":1})"), data(R"({"n":2})", 3),
                                            data(std::string(130, 'y'))};
    GatheredWriter w(true);
    w.plan(frames);
    const auto iov = iovecs_of(w, frames);
    ASSERT_EQ(iov.n, 2 * frames.size() + 2);  // header, '[', m, ',', m, ',', m, ']'
    const std::string array = R"([{"n":1},{"n":2},)" + std::string(130, 'y') + "]";
    EXPECT_EQ(joined(iov.span()), frame(array));
    EXPECT_EQ(w.payload(), array.size());
    ASSERT_EQ(w.segments().size(), 1u);
    EXPECT_EQ(w.frame_count(frames.size()), 1u);
    EXPECT_EQ(w.max_messages(), kBatchMaxMessages);
    EXPECT_EQ(w.max_bytes(), kBatchMaxBytes);
}

TEST(GatheredWriter, ALoneDataMessageInBatchModeIsNoArray) {
    const std::vector<MessagePtr> frames = {data(R"({"n":7})")};
    GatheredWriter w(true);
    w.plan(frames);
    const auto iov = iovecs_of(w, frames);
    ASSERT_EQ(iov.n, 2u);
    EXPECT_EQ(joined(iov.span()), frame(R"({"n":7})"));
    EXPECT_EQ(w.frame_count(1), 1u);
}

TEST(GatheredWriter, ControlMessagesKeepAFrameOfTheirOwnInBatchMode) {
    const std::vector<MessagePtr> frames = {control(R"({"type":"subscribed"})"),
                                            data(R"({"n":1})"),
                                            data(R"({"n":2})"),
                                            control(R"({"type":"pong"})"),
                                            control(R"({"type":"error"})"),
                                            data(R"({"n":3})")};
    GatheredWriter w(true);
    w.plan(frames);
    const auto iov = iovecs_of(w, frames);
    EXPECT_EQ(joined(iov.span()), frame(R"({"type":"subscribed"})") +
                                      frame(R"([{"n":1},{"n":2}])") + frame(R"({"type":"pong"})") +
                                      frame(R"({"type":"error"})") + frame(R"({"n":3})"));
    ASSERT_EQ(w.segments().size(), 5u);
    EXPECT_EQ(w.frame_count(frames.size()), 5u);
    EXPECT_EQ(w.segments()[1].first, 1u);
    EXPECT_EQ(w.segments()[1].count, 2u);
}

struct SocketPair {
    int fd[2] = {-1, -1};
    SocketPair() {
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
        ::fcntl(fd[1], F_SETFL, ::fcntl(fd[1], F_GETFL) | O_NONBLOCK);
    }
    ~SocketPair() {
        for (int f : fd)
            if (f >= 0) ::close(f);
    }
    // Everything readable now at the receiving end (never blocks).
    std::string drain() {
        std::string out;
        char buf[65536];
        for (ssize_t n; (n = ::recv(fd[1], buf, sizeof buf, MSG_DONTWAIT)) > 0;)
            out.append(buf, static_cast<std::size_t>(n));
        return out;
    }
};

const std::vector<MessagePtr>& mixed_frames() {
    static const std::vector<MessagePtr> frames = {
        control(R"({"type":"subscribed"})"), data(R"({"n":1})"), data(std::string(140, 'z')),
        control(R"({"type":"pong"})"), data(R"({"n":3})")};
    return frames;
}

// Each offset: a first send takes exactly that many bytes (copied from the iovecs, as a socket
// that took part would), then the real socket takes the rest from the same byte.
void resume_at_every_offset(bool batch) {
    const auto& frames = mixed_frames();
    GatheredWriter reference(batch);
    reference.plan(frames);
    const std::string expected = joined(iovecs_of(reference, frames).span());
    ASSERT_EQ(expected.size(), reference.total());
    for (std::size_t k = 0; k <= expected.size(); ++k) {
        GatheredWriter w(batch);
        w.plan(frames);
        const std::string first = joined(iovecs_of(w, frames).span()).substr(0, k);
        w.settle(static_cast<long>(k));
        EXPECT_EQ(joined(iovecs_of(w, frames).span()), expected.substr(k)) << "offset " << k;
        SocketPair pair;
        const auto progress = w.send(pair.fd[0], frames);
        ASSERT_EQ(progress.status, GatherProgress::done) << "offset " << k;
        EXPECT_TRUE(w.complete());
        ASSERT_EQ(first + pair.drain(), expected) << "offset " << k;
    }
}

TEST(GatheredWriter, APartialWriteResumesFromEveryByteOffset) {
    resume_at_every_offset(false);
}

TEST(GatheredWriter, APartialBatchWriteResumesFromEveryByteOffset) {
    resume_at_every_offset(true);
}

// A write larger than the socket's buffer goes out in parts, each from where the last stopped.
TEST(GatheredWriter, AFullSocketTakesTheWriteInParts) {
    for (const bool batch : {false, true}) {
        std::vector<MessagePtr> frames;
        for (int i = 0; i < 100; ++i)
            frames.push_back(i % 10 == 0
                                 ? control(R"({"type":"pong","i":)" + std::to_string(i) + "}")
                                 : data(std::string(1000 + i, static_cast<char>('a' + i % 26))));
        GatheredWriter w(batch);
        w.plan(frames);
        const std::string expected = joined(iovecs_of(w, frames).span());
        SocketPair pair;
        const int small = 4096;
        ::setsockopt(pair.fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        std::string received;
        std::size_t partials = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (true) {
            const auto progress = w.send(pair.fd[0], frames);
            ASSERT_NE(progress.status, GatherProgress::failed) << progress.error;
            received += pair.drain();
            if (progress.status == GatherProgress::done) break;
            ++partials;
            ASSERT_LT(std::chrono::steady_clock::now(), deadline);
            pollfd p{pair.fd[0], POLLOUT, 0};
            ::poll(&p, 1, 1000);  // writable again once the reader has drained
        }
        received += pair.drain();
        EXPECT_GT(partials, 0u) << "the socket took it all at once: not a partial write";
        EXPECT_EQ(received, expected) << "batch " << batch;
    }
}

TEST(GatheredWriter, AClosedPeerIsAnErrorValue) {
    const std::vector<MessagePtr> frames = {data(R"({"n":1})")};
    GatheredWriter w(false);
    w.plan(frames);
    SocketPair pair;
    ::close(pair.fd[1]);
    pair.fd[1] = -1;
    const auto progress = w.send(pair.fd[0], frames);
    EXPECT_EQ(progress.status, GatherProgress::failed);
    EXPECT_EQ(progress.error, EPIPE);
    EXPECT_FALSE(w.complete());
}

}  // namespace
}  // namespace streambed::engine
