// send_ring_test.cpp: many connections' sends in one io_uring submission, on real sockets — each
// sender hears exactly what its socket took (or the error as a value), the peers read their
// bytes in order, a full ring or iovec pool submits by itself, and what a sender holds is let go
// once it has heard.
#include "engine/send_ring.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace streambed::engine {
namespace {

struct Pair {
    int fd[2] = {-1, -1};
    Pair() {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) != 0)
            throw std::runtime_error("socketpair failed");
    }
    ~Pair() {
        for (int f : fd)
            if (f >= 0) ::close(f);
    }
    Pair(const Pair&) = delete;
    Pair& operator=(const Pair&) = delete;
    std::string drain() const {
        std::string out;
        char buf[4096];
        for (ssize_t n; (n = ::read(fd[1], buf, sizeof buf)) > 0;) out.append(buf, n);
        return out;
    }
};

struct Recorder final : SendRing::Sender {
    std::vector<long> results;
    std::function<void()> on_sent;
    void sent(long result) override {
        results.push_back(result);
        if (on_sent) on_sent();
    }
};

std::unique_ptr<SendRing> open_ring(Counter& submissions) {
    std::string why;
    auto ring = SendRing::open(submissions, why);
    if (!ring) ADD_FAILURE() << "io_uring refused: " << why;
    return ring;
}

// Queues `text` for `fd` as two iovecs (as a frame's header and payload are).
void add_text(SendRing& ring, int fd, const std::string& text, Recorder& r,
              std::shared_ptr<void> keep = {}) {
    auto room = ring.room(2);
    ASSERT_GE(room.size(), 2u);
    const auto half = text.size() / 2;
    room[0] = {const_cast<char*>(text.data()), half};
    room[1] = {const_cast<char*>(text.data()) + half, text.size() - half};
    ring.add(fd, 2, &r, std::move(keep));
}

TEST(SendRing, EverySenderHearsWhatItsSocketTookAndThePeersReadTheirBytes) {
    Counter submissions;
    auto ring = open_ring(submissions);
    ASSERT_TRUE(ring);
    constexpr std::size_t kConnections = kSendRingEntries + 44;  // one full ring, then the rest
    std::vector<std::unique_ptr<Pair>> pairs;
    std::vector<std::string> texts;
    std::vector<Recorder> heard(kConnections);
    for (std::size_t i = 0; i < kConnections; ++i) {
        pairs.push_back(std::make_unique<Pair>());
        texts.push_back("connection " + std::to_string(i) + std::string(100 + i, 'x'));
    }
    for (std::size_t i = 0; i < kConnections; ++i)
        add_text(*ring, pairs[i]->fd[0], texts[i], heard[i]);
    EXPECT_EQ(submissions.get(), 1u);  // the full ring went by itself
    ring->submit();
    EXPECT_EQ(submissions.get(), 2u);
    for (std::size_t i = 0; i < kConnections; ++i) {
        ASSERT_EQ(heard[i].results, std::vector<long>{static_cast<long>(texts[i].size())}) << i;
        EXPECT_EQ(pairs[i]->drain(), texts[i]) << i;
    }
    ring->submit();  // nothing queued: no system call
    EXPECT_EQ(submissions.get(), 2u);
}

TEST(SendRing, AFullSocketAndAClosedPeerAreResultsNotSignals) {
    Counter submissions;
    auto ring = open_ring(submissions);
    ASSERT_TRUE(ring);
    Pair full, gone, fine;
    const std::string block(64 << 10, 'f');
    while (::write(full.fd[0], block.data(), block.size()) > 0) {
    }
    ::close(gone.fd[1]);
    gone.fd[1] = -1;
    const std::string text = "still delivered";
    Recorder r_full, r_gone, r_fine;
    add_text(*ring, full.fd[0], text, r_full);
    add_text(*ring, gone.fd[0], text, r_gone);
    add_text(*ring, fine.fd[0], text, r_fine);
    ring->submit();
    EXPECT_EQ(r_full.results, std::vector<long>{-EAGAIN});
    EXPECT_EQ(r_gone.results, std::vector<long>{-EPIPE});
    EXPECT_EQ(r_fine.results, std::vector<long>{static_cast<long>(text.size())});
    EXPECT_EQ(fine.drain(), text);
}

TEST(SendRing, WhatASenderHoldsIsLetGoOnceItHeard) {
    Counter submissions;
    auto ring = open_ring(submissions);
    ASSERT_TRUE(ring);
    Pair pair;
    auto held = std::make_shared<std::string>("the frames a session keeps alive");
    const std::weak_ptr<std::string> watch = held;
    Recorder r;
    add_text(*ring, pair.fd[0], *held, r, held);
    held.reset();
    EXPECT_FALSE(watch.expired()) << "the ring must hold the sender until it has heard";
    ring->submit();
    EXPECT_TRUE(watch.expired());
    EXPECT_EQ(pair.drain(), "the frames a session keeps alive");
}

TEST(SendRing, ASenderWritingAgainWhileItHearsGoesItsOwnWay) {
    Counter submissions;
    auto ring = open_ring(submissions);
    ASSERT_TRUE(ring);
    Pair pair;
    Recorder r;
    std::vector<bool> accepting;
    r.on_sent = [&] { accepting.push_back(ring->accepting()); };
    EXPECT_TRUE(ring->accepting());
    add_text(*ring, pair.fd[0], "one", r);
    ring->submit();
    EXPECT_EQ(accepting, std::vector<bool>{false});
    EXPECT_TRUE(ring->accepting());
}

TEST(SendRing, AnIovecPoolShortOfRoomSubmitsWhatItHoldsFirst) {
    Counter submissions;
    auto ring = open_ring(submissions);
    ASSERT_TRUE(ring);
    // Writes of 700 one-byte iovecs each: the pool holds 23 of them.
    constexpr std::size_t kIovecs = 700, kWrites = 30;
    static_assert(kWrites * kIovecs > kSendRingIovecs);
    std::vector<std::unique_ptr<Pair>> pairs;
    std::vector<Recorder> heard(kWrites);
    const std::string letters = "abcdefghijklmnopqrstuvwxyz";
    for (std::size_t w = 0; w < kWrites; ++w) {
        pairs.push_back(std::make_unique<Pair>());
        auto room = ring->room(kIovecs);
        ASSERT_GE(room.size(), kIovecs);
        for (std::size_t i = 0; i < kIovecs; ++i)
            room[i] = {const_cast<char*>(letters.data()) + (w + i) % 26, 1};
        ring->add(pairs[w]->fd[0], kIovecs, &heard[w], {});
    }
    ring->submit();
    EXPECT_EQ(submissions.get(), 2u);
    for (std::size_t w = 0; w < kWrites; ++w) {
        std::string expected;
        for (std::size_t i = 0; i < kIovecs; ++i) expected += letters[(w + i) % 26];
        ASSERT_EQ(heard[w].results, std::vector<long>{static_cast<long>(kIovecs)}) << w;
        EXPECT_EQ(pairs[w]->drain(), expected) << w;
    }
}

TEST(SendRing, ASenderThatThrowsDoesNotKeepTheOthersFromHearing) {
    Counter submissions;
    auto ring = open_ring(submissions);
    ASSERT_TRUE(ring);
    Pair a, b;
    Recorder thrower, other;
    thrower.on_sent = [] { throw std::runtime_error("a bug in a sender"); };
    add_text(*ring, a.fd[0], "first", thrower);
    add_text(*ring, b.fd[0], "second", other);
    ring->submit();
    EXPECT_EQ(other.results, std::vector<long>{6});
    EXPECT_EQ(b.drain(), "second");
    EXPECT_TRUE(ring->accepting());
}

}  // namespace
}  // namespace streambed::engine
