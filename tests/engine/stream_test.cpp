// stream_test.cpp: Stream seq numbering, envelope bytes, bounded history, snapshots, catchup;
// the hub's timing of each message from its due instant.
#include "engine/stream.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "engine/hub.hpp"
#include "tests/support/message_seqs.hpp"

namespace streambed::engine {
namespace {

using testing::seqs;

constexpr std::int64_t kT0 = 1762732800000;

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> out;
    for (auto s = first; s <= last; ++s) out.push_back(s);
    return out;
}

// Appends n metrics messages; returns them.
std::vector<MessagePtr> append_n(Stream& s, int n, MessageType type = MessageType::metrics) {
    std::vector<MessagePtr> out;
    for (int i = 0; i < n; ++i)
        out.push_back(s.append(type, kT0 + i, R"({"i":)" + std::to_string(i) + "}", 0));
    return out;
}

TEST(Stream, SeqStartsAtOneAndIncrementsByOne) {
    Stream s(3, Endpoint::metrics, "metrics", 1000);
    EXPECT_EQ(s.last_seq(), 0u);
    for (std::uint64_t i = 1; i <= 2500; ++i) {
        auto m = s.append(MessageType::metrics, kT0, "{}", 0);
        ASSERT_EQ(m->seq, i);
        ASSERT_EQ(s.last_seq(), i);
    }
}

TEST(Stream, AppendFramesTheEnvelopeExactly) {
    Stream s(3, Endpoint::metrics, "metrics", 1000);
    auto m = s.append(MessageType::metrics, kT0 + 2000, R"({"tps":12.5,"txTotal":7})", 123);
    EXPECT_EQ(m->bytes, R"({"type":"metrics","channel":"metrics","seq":1,"time":1762732802000,)"
                        R"("data":{"tps":12.5,"txTotal":7}})");
    EXPECT_EQ(m->stream, 3u);
    EXPECT_EQ(m->seq, 1u);
    EXPECT_EQ(m->time_ms, kT0 + 2000);
    EXPECT_EQ(m->type, MessageType::metrics);
    EXPECT_EQ(m->published_us, 123);

    auto m2 = s.append(MessageType::metrics, kT0 + 4000, R"({"tps":1})", 0);
    EXPECT_EQ(m2->bytes, R"({"type":"metrics","channel":"metrics","seq":2,"time":1762732804000,)"
                         R"("data":{"tps":1}})");
}

TEST(Stream, EnvelopeNamesTheTypeAndChannel) {
    Stream s(0, Endpoint::channels, "ch-3", 1000);
    auto block = s.append(MessageType::block, kT0, R"({"height":1})", 0);
    auto update = s.append(MessageType::channel_update, kT0 + 1, R"({"blockHeight":1})", 0);
    EXPECT_EQ(block->bytes, R"({"type":"block","channel":"ch-3","seq":1,"time":1762732800000,)"
                            R"("data":{"height":1}})");
    EXPECT_EQ(update->bytes,
              R"({"type":"channel_update","channel":"ch-3","seq":2,"time":1762732800001,)"
              R"("data":{"blockHeight":1}})");
    auto j = nlohmann::json::parse(update->bytes);
    EXPECT_EQ(j["data"]["blockHeight"], 1);
}

TEST(Stream, EnvelopeBytesDependOnlyOnStreamSeqAndData) {
    Stream a(0, Endpoint::consensus, "consensus", 10), b(7, Endpoint::consensus, "consensus", 99);
    for (int i = 0; i < 5; ++i) {
        const std::string data = R"({"height":)" + std::to_string(i) + "}";
        auto ma = a.append(MessageType::consensus_update, kT0 + i, data, 1);
        auto mb = b.append(MessageType::consensus_update, kT0 + i, data, 987654);
        EXPECT_EQ(ma->bytes, mb->bytes);
    }
}

TEST(Stream, CatchupOnAnEmptyStream) {
    Stream s(0, Endpoint::metrics, "metrics", 10);
    auto snap = s.catchup(std::nullopt);
    EXPECT_EQ(snap.last_seq, 0u);
    EXPECT_FALSE(snap.reset);
    EXPECT_TRUE(snap.messages.empty());
    auto resume = s.catchup(0);
    EXPECT_EQ(resume.last_seq, 0u);
    EXPECT_FALSE(resume.reset);
    EXPECT_TRUE(resume.messages.empty());
}

TEST(Stream, SnapshotIsTheLatestState) {
    Stream s(0, Endpoint::metrics, "metrics", 1000);
    auto ms = append_n(s, 5);
    auto c = s.catchup(std::nullopt);
    EXPECT_EQ(c.last_seq, 5u);
    EXPECT_FALSE(c.reset);
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_EQ(c.messages[0], ms.back()) << "the very message, bytes and seq unchanged";
}

TEST(Stream, NoSnapshotForAStreamOfEvents) {
    Stream s(0, Endpoint::transactions, "ch-1", 1000);
    append_n(s, 4, MessageType::transaction);
    auto c = s.catchup(std::nullopt);
    EXPECT_EQ(c.last_seq, 4u);
    EXPECT_FALSE(c.reset);
    EXPECT_TRUE(c.messages.empty());
}

TEST(Stream, SnapshotOfAMixedStreamIsTheLatestStateNotTheLatestEvent) {
    Stream s(0, Endpoint::channels, "ch-1", 1000);
    s.append(MessageType::block, kT0, R"({"height":1})", 0);
    s.append(MessageType::channel_update, kT0 + 1, R"({"n":1})", 0);
    s.append(MessageType::block, kT0 + 2, R"({"height":2})", 0);
    auto latest = s.append(MessageType::channel_update, kT0 + 3, R"({"n":2})", 0);
    s.append(MessageType::block, kT0 + 4, R"({"height":3})", 0);
    s.append(MessageType::block, kT0 + 5, R"({"height":4})", 0);

    auto c = s.catchup(std::nullopt);
    EXPECT_EQ(c.last_seq, 6u);
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_EQ(c.messages[0], latest);
    EXPECT_EQ(c.messages[0]->seq, 4u);
    EXPECT_EQ(c.messages[0]->type, MessageType::channel_update);
}

TEST(Stream, CatchupReturnsEverythingAfterSinceInOrder) {
    Stream s(0, Endpoint::channels, "ch-1", 1000);
    std::vector<MessagePtr> ms;
    for (int i = 0; i < 10; ++i)
        ms.push_back(
            s.append(i % 3 ? MessageType::channel_update : MessageType::block, kT0 + i, "{}", 0));
    for (std::uint64_t since = 0; since < 10; ++since) {
        SCOPED_TRACE(since);
        auto c = s.catchup(since);
        EXPECT_FALSE(c.reset);
        EXPECT_EQ(c.last_seq, 10u);
        ASSERT_EQ(c.messages.size(), 10 - since);
        for (std::size_t i = 0; i < c.messages.size(); ++i)
            EXPECT_EQ(c.messages[i], ms[since + i]) << "events and states alike, in seq order";
    }
}

TEST(Stream, CatchupFromTheLatestSeqReturnsNothing) {
    Stream s(0, Endpoint::metrics, "metrics", 1000);
    append_n(s, 7);
    auto c = s.catchup(7);
    EXPECT_FALSE(c.reset);
    EXPECT_EQ(c.last_seq, 7u);
    EXPECT_TRUE(c.messages.empty()) << "no repeat of what the client already has";
}

TEST(Stream, HistoryIsBoundedToTheLimit) {
    Stream s(0, Endpoint::metrics, "metrics", 5);
    append_n(s, 12);
    EXPECT_EQ(s.last_seq(), 12u);
    // Exactly the last 5 are kept: 8..12.
    auto kept = s.catchup(7);
    EXPECT_FALSE(kept.reset);
    EXPECT_EQ(seqs(kept.messages), range(8, 12));
    auto gone = s.catchup(6);
    EXPECT_TRUE(gone.reset) << "seq 7 has left history";
}

TEST(Stream, HistoryOfTheDefaultSizeKeepsAThousand) {
    Stream s(0, Endpoint::transactions, "ch-1", 1000);
    append_n(s, 2500, MessageType::transaction);
    auto c = s.catchup(1500);
    EXPECT_FALSE(c.reset);
    EXPECT_EQ(seqs(c.messages), range(1501, 2500));
    EXPECT_TRUE(s.catchup(1499).reset);
}

TEST(Stream, ResetWhenTheResumePointLeftHistoryCarriesTheSnapshot) {
    Stream s(0, Endpoint::metrics, "metrics", 3);
    auto ms = append_n(s, 10);
    auto c = s.catchup(2);
    EXPECT_TRUE(c.reset);
    EXPECT_EQ(c.last_seq, 10u);
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_EQ(c.messages[0], ms.back());
}

TEST(Stream, ResetSnapshotSurvivesEvenWhenItLeftHistory) {
    Stream s(0, Endpoint::channels, "ch-1", 3);
    auto state = s.append(MessageType::channel_update, kT0, "{}", 0);                // seq 1
    for (int i = 0; i < 4; ++i) s.append(MessageType::block, kT0 + 1 + i, "{}", 0);  // 2..5
    auto c = s.catchup(1);  // wants 2; history holds 3..5
    EXPECT_TRUE(c.reset);
    EXPECT_EQ(c.last_seq, 5u);
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_EQ(c.messages[0], state);
    auto snap = s.catchup(std::nullopt);
    ASSERT_EQ(snap.messages.size(), 1u);
    EXPECT_EQ(snap.messages[0], state);
}

TEST(Stream, ResetOnAStreamOfEventsHasNoSnapshot) {
    Stream s(0, Endpoint::transactions, "ch-1", 3);
    append_n(s, 10, MessageType::transaction);
    auto c = s.catchup(0);
    EXPECT_TRUE(c.reset);
    EXPECT_EQ(c.last_seq, 10u);
    EXPECT_TRUE(c.messages.empty());
}

TEST(Stream, CatchupIsConsistentWhileAppending) {
    // One writer, one reader: every catchup is a gap-free run ending at the last_seq it reports.
    Stream s(0, Endpoint::metrics, "metrics", 64);
    constexpr std::uint64_t kCount = 50'000;
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (std::uint64_t i = 0; i < kCount; ++i)
            s.append(MessageType::metrics, kT0 + static_cast<std::int64_t>(i), "{}", 0);
        done = true;
    });
    std::uint64_t checks = 0, previous_last = 0;
    bool ok = true;
    while (ok && (!done || checks == 0)) {
        const std::uint64_t since = previous_last > 10 ? previous_last - 10 : 0;
        auto c = s.catchup(since);
        ok = c.last_seq >= previous_last;
        if (ok && !c.reset && c.last_seq > since) {
            ok = c.messages.size() == c.last_seq - since && c.messages.front()->seq == since + 1 &&
                 c.messages.back()->seq == c.last_seq;
            for (std::size_t i = 1; ok && i < c.messages.size(); ++i)
                ok = c.messages[i]->seq == c.messages[i - 1]->seq + 1;
        }
        if (ok && c.reset) ok = c.messages.size() == 1 && c.messages[0]->seq == c.last_seq;
        previous_last = c.last_seq;
        ++checks;
    }
    writer.join();
    EXPECT_TRUE(ok) << "inconsistent catchup after " << checks << " checks at seq "
                    << previous_last;
    EXPECT_EQ(s.last_seq(), kCount);
}

// A client that read its seqs under another epoch recovers nothing: the snapshot, marked reset
// epoch_changed, even when its resume point is in history.
TEST(Stream, CatchupUnderAForeignEpochIsAResetWithTheSnapshot) {
    Stream s(0, Endpoint::channels, "ch-1", 1000);
    append_n(s, 5, MessageType::block);
    auto state = s.append(MessageType::channel_update, kT0, R"({"n":6})", 0);
    append_n(s, 2, MessageType::block);  // seqs 7, 8

    auto foreign = s.catchup_for_epoch(3, true);
    EXPECT_TRUE(foreign.reset);
    EXPECT_EQ(foreign.reason, Stream::ResetReason::epoch_changed);
    EXPECT_EQ(foreign.last_seq, 8u);
    ASSERT_EQ(foreign.messages.size(), 1u);
    EXPECT_EQ(foreign.messages[0], state);

    auto same = s.catchup_for_epoch(3, false);
    EXPECT_FALSE(same.reset);
    EXPECT_EQ(seqs(same.messages), range(4, 8));

    auto fresh = s.catchup_for_epoch(std::nullopt, true);  // no `since`: nothing to recover
    EXPECT_FALSE(fresh.reset);
    EXPECT_EQ(seqs(fresh.messages), (std::vector<std::uint64_t>{6}));

    auto gone = s.catchup_for_epoch(500, false);  // the old reason stays the old reason
    EXPECT_TRUE(gone.reset);
    EXPECT_EQ(gone.reason, Stream::ResetReason::history_exceeded);
}

TEST(Hub, TimesEachMessageFromItsDueInstantToItsEntry) {
    Hub hub(10);
    const StreamId id = hub.declare_stream(Endpoint::metrics, "metrics");
    const std::int64_t now_ms = wall_now_us() / 1000;
    hub.set_clock({now_ms, now_ms * 1000, 1.0});                       // the wall clock itself
    hub.publish(id, MessageType::metrics, now_ms - 20, R"({"i":1})");  // due 20 ms ago
    hub.ingest(id, 2, MessageType::metrics, now_ms + 60'000, "{}");    // due in a minute
    const DueLateness& d = hub.due_lateness(Endpoint::metrics);
    ASSERT_EQ(d.count.get(), 2u);
    EXPECT_EQ(d.buckets[0].get(), 1u) << "early counts as on time";
    std::uint64_t under_20ms = 0;
    for (std::size_t i = 0; i < kDueBucketsUs.size() && kDueBucketsUs[i] < 20'000; ++i)
        under_20ms += d.buckets[i].get();
    EXPECT_EQ(under_20ms, 1u) << "the late one is at least 20 ms late";
    EXPECT_GE(d.sum_us.get(), 20'000u);
    EXPECT_EQ(hub.due_lateness(Endpoint::channels).count.get(), 0u) << "counted by endpoint";

    hub.set_clock({now_ms, now_ms * 1000, 0.0});  // unpaced: nothing is due at any instant
    hub.publish(id, MessageType::metrics, now_ms - 20, R"({"i":3})");
    EXPECT_EQ(d.count.get(), 2u);
}

}  // namespace
}  // namespace streambed::engine
