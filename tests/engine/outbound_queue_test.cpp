// outbound_queue_test.cpp: OutboundQueue byte accounting, write batches, conflation, overflow.
#include "engine/outbound_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace streambed::engine {
namespace {

constexpr std::size_t kAny = std::numeric_limits<std::size_t>::max();

MessagePtr msg(StreamId stream, std::uint64_t seq, MessageType type, std::size_t size) {
    auto m = std::make_shared<Message>();
    m->stream = stream;
    m->seq = seq;
    m->type = type;
    m->bytes = std::string(size, 'x');
    return m;
}
MessagePtr state(StreamId stream, std::uint64_t seq, std::size_t size = 10) {
    return msg(stream, seq, MessageType::channel_update, size);
}
MessagePtr event(StreamId stream, std::uint64_t seq, std::size_t size = 10) {
    return msg(stream, seq, MessageType::block, size);
}
MessagePtr control(std::size_t size = 10) {
    return msg(kNoStream, 0, MessageType::control, size);
}

// Writes everything queued (after whatever is in flight) and returns it in order.
std::vector<MessagePtr> drain(OutboundQueue& q) {
    std::vector<MessagePtr> out;
    q.end_write();
    while (q.has_queued()) {
        auto batch = q.begin_write(kAny, kAny);
        if (batch.empty()) break;
        out.insert(out.end(), batch.begin(), batch.end());
        q.end_write();
    }
    return out;
}

std::size_t total_bytes(const std::vector<MessagePtr>& ms) {
    std::size_t n = 0;
    for (auto& m : ms) n += m->bytes.size();
    return n;
}

TEST(OutboundQueue, StartsEmpty) {
    OutboundQueue q(100);
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_EQ(q.queued(), 0u);
    EXPECT_EQ(q.conflated(), 0u);
    EXPECT_FALSE(q.has_queued());
    EXPECT_FALSE(q.writing());
    EXPECT_TRUE(q.begin_write(kAny, kAny).empty());
    EXPECT_FALSE(q.writing());
}

TEST(OutboundQueue, CountsBytesQueuedAndInFlight) {
    OutboundQueue q(1000);
    auto a = event(1, 1, 10), b = event(1, 2, 20), c = control(30);
    EXPECT_EQ(q.push(a), PushResult::queued);
    EXPECT_EQ(q.push(b), PushResult::queued);
    EXPECT_EQ(q.push(c), PushResult::queued);
    EXPECT_EQ(q.bytes(), 60u);
    EXPECT_EQ(q.queued(), 3u);

    auto batch = q.begin_write(1, kAny);
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_EQ(batch[0], a);
    EXPECT_TRUE(q.writing());
    EXPECT_EQ(q.queued(), 2u);
    EXPECT_EQ(q.bytes(), 60u) << "bytes in flight still count";

    q.end_write();
    EXPECT_FALSE(q.writing());
    EXPECT_EQ(q.bytes(), 50u);
    EXPECT_EQ(q.queued(), 2u);
}

TEST(OutboundQueue, InFlightBytesCountTowardTheLimit) {
    OutboundQueue q(100);
    ASSERT_EQ(q.push(event(1, 1, 100)), PushResult::queued);
    ASSERT_EQ(q.begin_write(1, kAny).size(), 1u);
    EXPECT_EQ(q.push(event(1, 2, 1)), PushResult::overflow);
    q.end_write();
    EXPECT_EQ(q.push(event(1, 2, 1)), PushResult::queued);
    EXPECT_EQ(q.bytes(), 1u);
}

TEST(OutboundQueue, BeginWriteRespectsMaxMessages) {
    OutboundQueue q(1000);
    std::vector<MessagePtr> ms;
    for (std::uint64_t i = 1; i <= 5; ++i) {
        ms.push_back(event(1, i));
        q.push(ms.back());
    }
    auto batch = q.begin_write(3, kAny);
    ASSERT_EQ(batch.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(batch[i], ms[i]);
    EXPECT_EQ(q.inflight().size(), 3u);
    EXPECT_EQ(q.queued(), 2u);
    q.end_write();
    batch = q.begin_write(3, kAny);
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[0], ms[3]);
    EXPECT_EQ(batch[1], ms[4]);
}

TEST(OutboundQueue, BeginWriteRespectsMaxBytes) {
    OutboundQueue q(1000);
    for (std::uint64_t i = 1; i <= 3; ++i) q.push(event(1, i, 10));
    EXPECT_EQ(q.begin_write(10, 25).size(), 2u);  // 20 fits, 30 would not
    q.end_write();
    EXPECT_EQ(q.begin_write(10, 25).size(), 1u);
    q.end_write();

    for (std::uint64_t i = 4; i <= 6; ++i) q.push(event(1, i, 10));
    EXPECT_EQ(q.begin_write(10, 30).size(), 3u) << "exactly max_bytes fits";
}

TEST(OutboundQueue, BeginWriteAlwaysTakesAtLeastOne) {
    OutboundQueue q(1000);
    auto big = event(1, 1, 500);
    q.push(big);
    q.push(event(1, 2, 1));
    auto batch = q.begin_write(10, 10);
    ASSERT_EQ(batch.size(), 1u) << "a message larger than max_bytes is still written, alone";
    EXPECT_EQ(batch[0], big);
    EXPECT_EQ(q.bytes(), 501u);
}

TEST(OutboundQueue, AWriteTakesAtMostHalfTheBound) {
    OutboundQueue q(100);
    for (std::uint64_t i = 1; i <= 9; ++i) q.push(event(1, i, 10));
    EXPECT_EQ(q.begin_write(kAny, kAny).size(), 5u) << "50 bytes of a 100-byte bound";
}

TEST(OutboundQueue, AReaderOfStatesAloneIsNeverClosedWhileAWriteIsUnderWay) {
    // A slow reader of one state stream: whatever is in flight, the newest state always fits.
    OutboundQueue q(100);
    std::uint64_t seq = 0;
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 10; ++i)
            ASSERT_NE(q.push(state(1, ++seq, 10)), PushResult::overflow) << seq;
        if (!q.writing())
            q.begin_write(kAny, kAny);
        else if (round % 3 == 0)
            q.end_write();
    }
    EXPECT_GT(q.conflated(), 0u);
}

TEST(OutboundQueue, ControlAloneKeepsControlMessagesOutOfDataRuns) {
    OutboundQueue q(1000);
    q.push(control());
    q.push(state(1, 1));
    q.push(event(2, 1));
    q.push(control());
    q.push(event(2, 2));
    EXPECT_EQ(q.begin_write(10, kAny, true).size(), 1u) << "a control message goes alone";
    q.end_write();
    EXPECT_EQ(q.begin_write(10, kAny, true).size(), 2u)
        << "data messages stop before a control one";
    q.end_write();
    EXPECT_EQ(q.begin_write(10, kAny, true).size(), 1u);
    q.end_write();
    EXPECT_EQ(q.begin_write(10, kAny, true).size(), 1u);
    q.end_write();
    q.push(control());
    q.push(event(2, 3));
    EXPECT_EQ(q.begin_write(10, kAny).size(), 2u) << "without it, anything goes together";
}

TEST(OutboundQueue, OnlyOneWriteAtATime) {
    OutboundQueue q(1000);
    auto a = event(1, 1), b = event(1, 2);
    q.push(a);
    q.push(b);
    ASSERT_EQ(q.begin_write(1, kAny).size(), 1u);
    EXPECT_TRUE(q.begin_write(kAny, kAny).empty()) << "a second write while one is in flight";
    ASSERT_EQ(q.inflight().size(), 1u);
    EXPECT_EQ(q.inflight()[0], a);
    EXPECT_EQ(q.queued(), 1u);
}

TEST(OutboundQueue, EndWriteReleasesTheMessages) {
    OutboundQueue q(1000);
    std::weak_ptr<const Message> watch;
    {
        auto m = event(1, 1, 42);
        watch = m;
        q.push(std::move(m));
    }
    ASSERT_EQ(q.begin_write(1, kAny).size(), 1u);
    EXPECT_FALSE(watch.expired());
    q.end_write();
    EXPECT_TRUE(watch.expired()) << "the queue still holds a written message";
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_TRUE(q.inflight().empty());
}

TEST(OutboundQueue, UnderTheLimitNothingIsConflated) {
    OutboundQueue q(100);
    std::vector<MessagePtr> ms;
    for (std::uint64_t i = 1; i <= 10; ++i) {  // 10 x 10 bytes: exactly the limit
        ms.push_back(state(1, i));
        EXPECT_EQ(q.push(ms.back()), PushResult::queued) << "seq " << i;
    }
    EXPECT_EQ(q.bytes(), 100u);
    EXPECT_EQ(q.queued(), 10u);
    EXPECT_EQ(q.conflated(), 0u);
    EXPECT_EQ(drain(q), ms);
}

TEST(OutboundQueue, OverTheLimitOlderStatesOfAStreamAreConflated) {
    OutboundQueue q(100);
    auto a1 = state(1, 1), b1 = state(2, 1), e1 = event(3, 1), a2 = state(1, 2), c = control(),
         b2 = state(2, 2), a3 = state(1, 3), e2 = event(3, 2),
         t1 = msg(4, 1, MessageType::transaction, 10), b3 = state(2, 3);
    for (auto& m : {a1, b1, e1, a2, c, b2, a3, e2, t1, b3})
        ASSERT_EQ(q.push(m), PushResult::queued);
    ASSERT_EQ(q.bytes(), 100u);

    auto a4 = state(1, 4);
    EXPECT_EQ(q.push(a4), PushResult::conflated);
    // Only the newest state per stream survives; events and control messages all do, in order.
    EXPECT_EQ(q.conflated(), 5u);  // a1 a2 a3 b1 b2
    EXPECT_EQ(q.queued(), 6u);
    EXPECT_EQ(q.bytes(), 60u);
    EXPECT_EQ(drain(q), (std::vector<MessagePtr>{e1, c, e2, t1, b3, a4}));
}

TEST(OutboundQueue, EveryStateTypeIsConflated) {
    const MessageType states[] = {MessageType::channel_update, MessageType::validator_update,
                                  MessageType::consensus_update, MessageType::network_status,
                                  MessageType::metrics};
    for (auto type : states) {
        SCOPED_TRACE(static_cast<int>(type));
        OutboundQueue q(20);
        auto old = msg(5, 1, type, 10), mid = msg(5, 2, type, 10), now = msg(5, 3, type, 10);
        q.push(old);
        q.push(mid);
        EXPECT_EQ(q.push(now), PushResult::conflated);
        EXPECT_EQ(drain(q), (std::vector<MessagePtr>{now}));
    }
}

TEST(OutboundQueue, AnArrivingEventMakesRoomByConflatingQueuedStates) {
    OutboundQueue q(30);
    auto s1 = state(1, 1), s2 = state(1, 2), s3 = state(1, 3);
    q.push(s1);
    q.push(s2);
    q.push(s3);
    auto e = event(2, 1);
    EXPECT_EQ(q.push(e), PushResult::conflated);
    EXPECT_EQ(q.conflated(), 2u);
    EXPECT_EQ(q.bytes(), 20u);
    EXPECT_EQ(drain(q), (std::vector<MessagePtr>{s3, e}));
}

TEST(OutboundQueue, EventsAndControlMessagesAreNeverDropped) {
    OutboundQueue q(50);
    std::vector<MessagePtr> ms = {event(1, 1), msg(2, 1, MessageType::transaction, 10), control(),
                                  event(1, 2), msg(2, 2, MessageType::transaction, 10)};
    for (auto& m : ms) ASSERT_EQ(q.push(m), PushResult::queued);
    EXPECT_EQ(q.push(event(1, 3)), PushResult::overflow);
    EXPECT_EQ(q.push(control()), PushResult::overflow);
    EXPECT_EQ(q.push(state(3, 1)), PushResult::overflow);
    EXPECT_EQ(q.conflated(), 0u);
    EXPECT_EQ(q.bytes(), 50u);
    EXPECT_EQ(drain(q), ms);
}

TEST(OutboundQueue, OverflowWhenNothingCanBeConflatedLeavesTheQueueAsItWas) {
    OutboundQueue q(40);
    // One state per stream: conflation has nothing to drop.
    std::vector<MessagePtr> ms = {state(1, 1), state(2, 1), event(3, 1), state(4, 1)};
    for (auto& m : ms) q.push(m);
    auto late = state(5, 1);
    EXPECT_EQ(q.push(late), PushResult::overflow);
    EXPECT_EQ(q.conflated(), 0u);
    EXPECT_EQ(q.bytes(), 40u);
    EXPECT_EQ(q.queued(), 4u);
    EXPECT_EQ(drain(q), ms);
}

TEST(OutboundQueue, OverflowWhenConflationDoesNotMakeEnoughRoom) {
    OutboundQueue q(100);
    auto s1 = state(1, 1), s2 = state(1, 2);
    std::vector<MessagePtr> events;
    for (std::uint64_t i = 1; i <= 8; ++i) events.push_back(event(2, i));
    q.push(s1);
    for (auto& e : events) q.push(e);
    q.push(s2);
    ASSERT_EQ(q.bytes(), 100u);

    auto big = state(1, 3, 30);  // dropping s1 and s2 frees 20 bytes, not 30
    EXPECT_EQ(q.push(big), PushResult::overflow);
    auto left = drain(q);
    EXPECT_EQ(std::count(left.begin(), left.end(), big), 0) << "the overflowing message was queued";
    for (auto& e : events)
        EXPECT_EQ(std::count(left.begin(), left.end(), e), 1) << "an event was dropped";
    EXPECT_EQ(q.bytes(), 0u);
}

TEST(OutboundQueue, OverflowAccountingStaysExact) {
    // Whatever conflation did before reporting overflow, bytes() matches what is really held.
    OutboundQueue q(100);
    q.push(state(1, 1));
    for (std::uint64_t i = 1; i <= 8; ++i) q.push(event(2, i));
    q.push(state(1, 2));
    ASSERT_EQ(q.push(state(1, 3, 30)), PushResult::overflow);
    const std::size_t reported = q.bytes();
    const std::size_t count = q.queued();
    auto left = drain(q);
    EXPECT_EQ(total_bytes(left), reported);
    EXPECT_EQ(left.size(), count);
}

TEST(OutboundQueue, AMessageLargerThanTheLimitOverflowsAnEmptyQueue) {
    OutboundQueue q(100);
    EXPECT_EQ(q.push(event(1, 1, 101)), PushResult::overflow);
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_FALSE(q.has_queued());
}

TEST(OutboundQueue, InFlightMessagesAreNeverConflated) {
    OutboundQueue q(40);
    auto s1 = state(1, 1), s2 = state(1, 2), e = event(2, 1), s3 = state(1, 3);
    q.push(s1);
    ASSERT_EQ(q.begin_write(1, kAny).size(), 1u);  // s1 is being written
    q.push(s2);
    q.push(e);
    q.push(s3);
    ASSERT_EQ(q.bytes(), 40u);

    auto s4 = state(1, 4);
    EXPECT_EQ(q.push(s4), PushResult::conflated);
    EXPECT_EQ(q.conflated(), 2u);  // s2 and s3; s1 is on the wire
    ASSERT_EQ(q.inflight().size(), 1u);
    EXPECT_EQ(q.inflight()[0], s1);
    EXPECT_EQ(q.bytes(), 30u);  // s1 in flight + e + s4
    EXPECT_EQ(drain(q), (std::vector<MessagePtr>{e, s4}));
}

TEST(OutboundQueue, ConflatedCountAccumulates) {
    OutboundQueue q(20);
    q.push(state(1, 1));
    q.push(state(1, 2));
    EXPECT_EQ(q.push(state(1, 3)), PushResult::conflated);  // drops seq 1 and 2
    EXPECT_EQ(q.conflated(), 2u);
    EXPECT_EQ(q.push(state(1, 4)), PushResult::queued);  // fits: no conflation
    EXPECT_EQ(q.conflated(), 2u);
    auto last = state(1, 5);
    EXPECT_EQ(q.push(last), PushResult::conflated);  // drops seq 3 and 4
    EXPECT_EQ(q.conflated(), 4u);
    EXPECT_EQ(drain(q), (std::vector<MessagePtr>{last}));
    EXPECT_EQ(q.conflated(), 4u) << "writing does not count as conflation";
}

TEST(OutboundQueue, ClearDropsQueuedButNotInFlight) {
    OutboundQueue q(1000);
    auto a = event(1, 1, 10);
    q.push(a);
    q.push(event(1, 2, 20));
    q.push(state(2, 1, 30));
    ASSERT_EQ(q.begin_write(1, kAny).size(), 1u);

    q.clear();
    EXPECT_FALSE(q.has_queued());
    EXPECT_EQ(q.queued(), 0u);
    EXPECT_TRUE(q.writing());
    ASSERT_EQ(q.inflight().size(), 1u);
    EXPECT_EQ(q.inflight()[0], a);
    EXPECT_EQ(q.bytes(), 10u);
    q.end_write();
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_TRUE(q.begin_write(kAny, kAny).empty());
}

TEST(OutboundQueue, ALongQueueTakenInPartsKeepsItsOrder) {  // the front is compacted away
    OutboundQueue q(1 << 20);
    for (std::uint64_t i = 1; i <= 200; ++i) q.push(event(1, i));
    ASSERT_EQ(q.begin_write(100, kAny).size(), 100u);
    for (std::uint64_t i = 201; i <= 250; ++i) q.push(event(1, i));
    const auto rest = drain(q);
    ASSERT_EQ(rest.size(), 150u);
    for (std::size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(rest[i]->seq, 101 + i);
}

}  // namespace
}  // namespace streambed::engine
