// subscription_set_test.cpp: a session's subscriptions without a server — which channels a
// subscribe names, what it sends first (subscribed, then snapshot, reset or nothing), which live
// messages pass, "*" and unsubscribe, and a resume sent in order, paced by the queue, falling
// back to reset when its point leaves history.
#include "engine/subscription_set.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "tests/support/message_seqs.hpp"

namespace streambed::engine {
using json = nlohmann::json;

namespace {

using testing::seqs;

// A queue that only counts (what was sent, the bytes not yet "written"), and tables that only
// remember who entered.
struct FakeSink final : SubscriptionSink {
    bool is_open = true;
    std::size_t queued = 0;
    std::vector<MessagePtr> sent;
    std::vector<json> controls;                // errors included, in order
    std::map<StreamId, std::uint32_t> tables;  // stream → slot
    std::uint32_t next_slot = 10;
    bool following = false;

    bool open() const override { return is_open; }
    std::size_t queued_bytes() const override { return queued; }
    void send(const MessagePtr& m) override {
        sent.push_back(m);
        queued += m->bytes.size();
    }
    void send_control(std::string text) override { controls.push_back(json::parse(text)); }
    void send_error(ErrorCode code, std::string_view message) override {
        send_control(error_json(code, message));
    }
    std::uint32_t enter(StreamId stream) override {
        EXPECT_FALSE(tables.contains(stream)) << "entered twice";
        return tables[stream] = next_slot++;
    }
    void leave(StreamId stream, std::uint32_t slot) override {
        EXPECT_EQ(tables.at(stream), slot);
        tables.erase(stream);
    }
    void follow_new_streams(bool on) override { following = on; }
    void written() { queued = 0; }
    std::vector<std::string> types() const {
        std::vector<std::string> out;
        for (auto& c : controls) out.push_back(c["type"]);
        return out;
    }
};

struct Fixture {
    Hub hub{1000};
    StreamId tx = hub.declare_stream(Endpoint::transactions, "ch-1");
    StreamId tx2 = hub.declare_stream(Endpoint::transactions, "ch-2");
    StreamId state = hub.declare_stream(Endpoint::channels, "ch-1");
    FakeSink sink;

    SubscriptionSet set(Endpoint e, std::size_t max_subscriptions = 100,
                        std::size_t budget = 1 << 20) {
        return SubscriptionSet(hub, e, {max_subscriptions, budget}, sink);
    }
    void publish(StreamId id, int count, std::size_t pad = 80) {
        for (int i = 0; i < count; ++i)
            hub.publish(id, id == state ? MessageType::channel_update : MessageType::transaction, i,
                        fmt::format(R"({{"pad":"{}"}})", std::string(pad, 'x')));
    }
};

SubscribeRequest subscribe(std::vector<std::string> channels) {
    SubscribeRequest r;
    r.channels = std::move(channels);
    return r;
}

SubscribeRequest resume(std::map<std::string, std::uint64_t> since,
                        std::optional<std::string> epoch = std::nullopt) {
    SubscribeRequest r;
    for (auto& [channel, seq] : since) r.channels.push_back(channel);
    r.since = std::move(since);
    r.has_since = true;
    r.epoch = std::move(epoch);
    return r;
}

SubscribeRequest unsubscribe(std::vector<std::string> channels) {
    SubscribeRequest r = subscribe(std::move(channels));
    r.subscribe = false;
    return r;
}

Message live(StreamId stream, std::uint64_t seq) {
    Message m;
    m.stream = stream;
    m.seq = seq;
    return m;
}

TEST(SubscriptionSet, SelectsKnownChannelsOnceAndReportsUnknownOnes) {
    Fixture f;
    const auto sel = select_channels(f.hub, Endpoint::transactions, {"ch-2", "nope", "ch-2", "*"});
    EXPECT_TRUE(sel.star);
    EXPECT_EQ(sel.known, (std::vector<std::string>{"ch-2", "*"}));
    EXPECT_EQ(sel.unknown, (std::vector<std::string>{"nope"}));
    ASSERT_EQ(sel.targets.size(), 2u);  // ch-2 once, then ch-1 from "*"
    EXPECT_EQ(sel.targets[0]->channel(), "ch-2");
    EXPECT_EQ(sel.targets[1]->channel(), "ch-1");
    EXPECT_TRUE(select_channels(f.hub, Endpoint::validators, {"*"}).targets.empty());
}

TEST(SubscriptionSet, AFreshSubscribeSendsSubscribedThenTheSnapshot) {
    Fixture f;
    f.publish(f.state, 3);
    auto set = f.set(Endpoint::channels);
    set.subscribe(subscribe({"ch-1"}));
    EXPECT_EQ(f.sink.types(), (std::vector<std::string>{"subscribed"}));
    EXPECT_FALSE(f.sink.controls[0].contains("recovered"));
    EXPECT_EQ(seqs(f.sink.sent), (std::vector<std::uint64_t>{3}));  // the latest state only
    EXPECT_EQ(f.sink.tables, (std::map<StreamId, std::uint32_t>{{f.state, 10}}));
    EXPECT_FALSE(set.admit(live(f.state, 3)));  // in the snapshot
    EXPECT_TRUE(set.admit(live(f.state, 4)));
    EXPECT_FALSE(set.admit(live(f.state, 4)));  // not twice
    EXPECT_FALSE(set.admit(live(f.tx, 100)));   // not subscribed

    // Subscribed already and no `since`: the answer, nothing sent again.
    set.subscribe(subscribe({"ch-1"}));
    EXPECT_EQ(f.sink.types(), (std::vector<std::string>{"subscribed", "subscribed"}));
    EXPECT_EQ(f.sink.sent.size(), 1u);
    EXPECT_EQ(set.size(), 1u);
}

TEST(SubscriptionSet, UnknownChannelsAreAnErrorAndTheOthersAreSubscribed) {
    Fixture f;
    auto set = f.set(Endpoint::transactions);
    set.subscribe(subscribe({"ch-1", "nope", "gone"}));
    ASSERT_EQ(f.sink.types(), (std::vector<std::string>{"error", "subscribed"}));
    EXPECT_EQ(f.sink.controls[0]["code"], "unknown_channel");
    EXPECT_EQ(f.sink.controls[0]["message"], "unknown channels on /ws/transactions: nope, gone");
    EXPECT_EQ(f.sink.controls[1]["channels"], json::array({"ch-1"}));
    EXPECT_EQ(set.size(), 1u);

    set.subscribe(subscribe({"nope"}));  // nothing known: the error alone
    EXPECT_EQ(f.sink.types().back(), "error");
    EXPECT_EQ(f.sink.controls.size(), 3u);
}

TEST(SubscriptionSet, RefusesMoreThanTheMaximumWithoutSubscribingAny) {
    Fixture f;
    auto set = f.set(Endpoint::transactions, /*max_subscriptions=*/1);
    set.subscribe(subscribe({"ch-1", "ch-2"}));
    ASSERT_EQ(f.sink.types(), (std::vector<std::string>{"error"}));
    EXPECT_EQ(f.sink.controls[0]["code"], "too_many_subscriptions");
    EXPECT_EQ(set.size(), 0u);
    EXPECT_TRUE(f.sink.tables.empty());
    set.subscribe(subscribe({"ch-2"}));
    set.subscribe(subscribe({"ch-2"}));  // not a new one: still within the maximum
    EXPECT_EQ(f.sink.types(), (std::vector<std::string>{"error", "subscribed", "subscribed"}));
}

TEST(SubscriptionSet, StarFollowsStreamsDeclaredLaterUntilUnsubscribed) {
    Fixture f;
    auto set = f.set(Endpoint::transactions);
    set.subscribe(subscribe({"*"}));
    EXPECT_TRUE(set.wildcard());
    EXPECT_TRUE(f.sink.following);
    EXPECT_EQ(set.size(), 2u);
    const StreamId born = f.hub.declare_stream(Endpoint::transactions, "ch-3");
    set.on_stream_added(f.hub.find(Endpoint::transactions, "ch-3"));
    ASSERT_EQ(set.size(), 3u);
    EXPECT_TRUE(set.admit(live(born, 1)));  // every message of a new stream is still to come
    set.on_stream_added(f.hub.find(Endpoint::transactions, "ch-3"));  // once
    EXPECT_EQ(set.size(), 3u);

    set.unsubscribe(unsubscribe({"*"}));
    EXPECT_FALSE(set.wildcard());
    EXPECT_FALSE(f.sink.following);
    EXPECT_EQ(set.size(), 0u);
    EXPECT_TRUE(f.sink.tables.empty());
    EXPECT_EQ(f.sink.controls.back(), json::parse(R"({"type":"unsubscribed","channels":["*"]})"));
    set.on_stream_added(f.hub.find(Endpoint::transactions, "ch-3"));
    EXPECT_EQ(set.size(), 0u);
}

TEST(SubscriptionSet, UnsubscribeLeavesTheTableFromItsCurrentSlot) {
    Fixture f;
    auto set = f.set(Endpoint::transactions);
    set.subscribe(subscribe({"ch-1", "ch-2"}));
    set.moved(f.tx2, 0);  // the shard moved our entry
    f.sink.tables[f.tx2] = 0;
    set.unsubscribe(unsubscribe({"ch-2", "nope"}));
    EXPECT_EQ(f.sink.tables, (std::map<StreamId, std::uint32_t>{{f.tx, 10}}));
    EXPECT_EQ(f.sink.types(), (std::vector<std::string>{"subscribed", "error", "unsubscribed"}));
    EXPECT_FALSE(set.admit(live(f.tx2, 1)));
    EXPECT_TRUE(set.admit(live(f.tx, 1)));
    set.clear();
    EXPECT_TRUE(f.sink.tables.empty());
}

TEST(SubscriptionSet, AResumeIsSentInOrderPacedByTheQueue) {
    Fixture f;
    f.publish(f.tx, 200);  // ~100 bytes each
    const std::size_t budget = 1000;
    auto set = f.set(Endpoint::transactions, 100, budget);
    set.subscribe(resume({{"ch-1", 10}}));
    EXPECT_EQ(
        f.sink.controls.at(0),
        json::parse(R"({"type":"subscribed","channels":["ch-1"],"recovered":{"ch-1":true}})"));
    EXPECT_EQ(set.catching_up(), 1u);
    // Live messages of the stream wait in history while the resume catches up.
    EXPECT_FALSE(set.admit(live(f.tx, 201)));

    int refills = 0;
    while (set.catching_up() > 0) {
        ASSERT_LT(++refills, 100);
        EXPECT_LE(f.sink.queued, budget);
        EXPECT_GT(f.sink.queued, 0u);
        f.sink.written();
        set.refill();
    }
    EXPECT_GT(refills, 10);  // paced: ~9 messages per refill
    std::vector<std::uint64_t> want;
    for (std::uint64_t n = 11; n <= 200; ++n) want.push_back(n);
    EXPECT_EQ(seqs(f.sink.sent), want);
    EXPECT_EQ(f.sink.controls.size(), 1u);
    EXPECT_TRUE(set.admit(live(f.tx, 201)));  // caught up: live delivery continues after 200
}

TEST(SubscriptionSet, AResumePointOutOfHistoryResetsToTheSnapshot) {
    Fixture f;
    f.publish(f.state, 5);
    auto set = f.set(Endpoint::channels);
    set.subscribe(resume({{"ch-1", 99}}));  // beyond the newest: a restarted server
    ASSERT_EQ(f.sink.types(), (std::vector<std::string>{"subscribed", "reset"}));
    EXPECT_EQ(f.sink.controls[0]["recovered"]["ch-1"], false);
    EXPECT_EQ(
        f.sink.controls[1],
        json::parse(R"({"type":"reset","channel":"ch-1","seq":5,"reason":"history_exceeded"})"));
    EXPECT_EQ(seqs(f.sink.sent), (std::vector<std::uint64_t>{5}));
    EXPECT_EQ(set.catching_up(), 0u);
}

TEST(SubscriptionSet, AForeignEpochRecoversNothing) {
    Fixture f;
    f.publish(f.state, 5);
    auto set = f.set(Endpoint::channels);
    set.subscribe(resume({{"ch-1", 3}}, "another-world"));
    ASSERT_EQ(f.sink.types(), (std::vector<std::string>{"subscribed", "reset"}));
    EXPECT_EQ(f.sink.controls[1]["reason"], "epoch_changed");
    EXPECT_EQ(seqs(f.sink.sent), (std::vector<std::uint64_t>{5}));

    Fixture g;  // the same resume under the hub's own epoch recovers
    g.publish(g.state, 5);
    auto same = g.set(Endpoint::channels);
    same.subscribe(resume({{"ch-1", 3}}, g.hub.epoch()));
    EXPECT_EQ(g.sink.types(), (std::vector<std::string>{"subscribed"}));
    EXPECT_EQ(seqs(g.sink.sent), (std::vector<std::uint64_t>{4, 5}));
}

TEST(SubscriptionSet, AResumeThatFallsOutOfHistoryMidwayResets) {
    Hub hub(50);
    const StreamId id = hub.declare_stream(Endpoint::channels, "ch-1");
    auto publish = [&](int count) {
        for (int i = 0; i < count; ++i)
            hub.publish(id, MessageType::channel_update, i, R"({"v":1})");
    };
    publish(50);
    FakeSink sink;
    SubscriptionSet set(hub, Endpoint::channels, {100, 100}, sink);
    set.subscribe(resume({{"ch-1", 1}}));  // a few messages, then the client is slow
    ASSERT_EQ(set.catching_up(), 1u);
    EXPECT_FALSE(sink.sent.empty());
    publish(100);  // the resume point leaves history meanwhile
    sink.written();
    set.refill();
    EXPECT_EQ(set.catching_up(), 0u);
    ASSERT_EQ(sink.types(), (std::vector<std::string>{"subscribed", "reset"}));
    EXPECT_EQ(sink.controls[1]["seq"], 150);
    EXPECT_EQ(sink.sent.back()->seq, 150u);  // the snapshot
    EXPECT_FALSE(set.admit(live(id, 150)));
    EXPECT_TRUE(set.admit(live(id, 151)));
}

TEST(SubscriptionSet, NothingMoreIsSentOnceTheSinkCloses) {
    Fixture f;
    f.publish(f.tx, 20);
    auto set = f.set(Endpoint::transactions);
    f.sink.is_open = false;
    set.subscribe(resume({{"ch-1", 0}}));
    EXPECT_TRUE(f.sink.sent.empty());
    EXPECT_EQ(set.catching_up(), 1u);
    set.clear();  // leaving ends the resume
    EXPECT_EQ(set.catching_up(), 0u);
}

}  // namespace
}  // namespace streambed::engine
