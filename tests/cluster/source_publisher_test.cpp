// source_publisher_test.cpp: the source's appends on a real redis-server. They leave from the
// publishing thread without waiting for Redis — a paused Redis holds nothing up, and what was
// written is appended once it answers — each message once, in order, fenced by the lease; a
// lost lease, a lost Redis or a forgotten script stops the publisher, saying why.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <thread>

#include "cluster/follower.hpp"
#include "cluster/resp_command.hpp"
#include "cluster/source_publisher.hpp"
#include "engine/hub.hpp"
#include "simulator/simulator_source.hpp"
#include "simulator/world.hpp"
#include "tests/cluster/cluster_harness.hpp"

namespace streambed::testing {
namespace {

using cluster::RedisConnection;
using cluster::SourcePublisher;

// A cluster on a real redis-server whose lease `holder` holds, and a publisher of node "node"
// with the metrics stream declared (made by make(), so a test can change Redis first).
struct PublisherRig {
    RedisServer redis;
    cluster::ClusterOptions options;
    cluster::ClusterKeys keys{""};
    std::unique_ptr<RedisConnection> admin;
    std::unique_ptr<SourcePublisher> publisher;
    engine::StreamId stream = 0;

    explicit PublisherRig(const std::string& holder = "node") {
        std::string error;
        options.redis = *cluster::parse_redis_url(redis.url(), error);
        options.name = cluster_name();
        options.node = "node";
        keys = cluster::ClusterKeys(options.name);
        admin = connect_redis(redis);
        EXPECT_TRUE(admin->command({"SET", keys.lease(), holder}));
    }
    SourcePublisher& make(std::uint64_t skip = 0, cluster::Follower* serve = nullptr) {
        publisher =
            std::make_unique<SourcePublisher>(options, skip, connect_redis(redis), nullptr, serve);
        stream = publisher->declare_stream(engine::Endpoint::metrics, "metrics");
        return *publisher;
    }
    engine::MessagePtr publish(int i) {
        return publisher->publish(stream, engine::MessageType::metrics, i,
                                  R"({"i":)" + std::to_string(i) + "}");
    }
    // Calls `done` (which reads the publisher's replies, as backlog() does) until it holds.
    template <class Pred>
    bool until(Pred done) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(1ms);  // polling a condition, with a deadline
        }
        return true;
    }
    bool answered() {
        return until([&] { return publisher->backlog().messages == 0; });
    }
    long long count(const std::string& key) {
        auto r = admin->command({"XLEN", key});
        return r ? cluster::integer_of(*r).value_or(-1) : -1;
    }
    std::string metrics_key() const { return keys.stream(engine::Endpoint::metrics, "metrics"); }
    // How many calls of the publish script Redis has run (INFO commandstats).
    long long script_calls() {
        auto r = admin->command({"INFO", "commandstats"});
        const std::string_view info = r ? cluster::text_of(*r) : "";
        const auto at = info.find("cmdstat_evalsha:calls=");
        if (at == std::string_view::npos) return 0;
        return std::atoll(info.substr(at + 22).data());
    }
};

TEST(SourcePublisher, AppendsEveryMessageOnceInOrderWithItsSeqAndBytes) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    auto& p = rig.make(/*skip=*/10);
    std::vector<engine::MessagePtr> sent;
    for (int i = 1; i <= 200; ++i) sent.push_back(rig.publish(i));
    ASSERT_TRUE(rig.answered());
    EXPECT_FALSE(p.failed()) << p.failure();
    EXPECT_EQ(p.appended(), 190u);  // the first ten the cluster held already
    ASSERT_EQ(rig.count(rig.metrics_key()), 190);
    auto head = rig.admin->command({"GET", rig.keys.head()});
    EXPECT_EQ(cluster::text_of(*head), "200");
    auto r = rig.admin->command({"XRANGE", rig.metrics_key(), "-", "+"});
    ASSERT_EQ(r->elements, 190u);
    for (std::size_t k = 0; k < r->elements; ++k) {
        const redisReply& fields = *r->element[k]->element[1];  // n s y t b, each with its value
        const auto& m = *sent[k + 10];
        ASSERT_EQ(cluster::text_of(*fields.element[1]), std::to_string(k + 11));
        EXPECT_EQ(cluster::text_of(*fields.element[3]), std::to_string(m.seq));
        EXPECT_EQ(cluster::text_of(*fields.element[5]), "metrics");
        EXPECT_EQ(cluster::text_of(*fields.element[7]), std::to_string(m.time_ms));
        EXPECT_EQ(cluster::text_of(*fields.element[9]), m.bytes);
    }
}

TEST(SourcePublisher, AppendsOnlyTheMessagesOfABatchAboveTheHeadRedisHolds) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    ASSERT_TRUE(rig.admin->command({"SET", rig.keys.head(), "5"}));  // a predecessor's
    auto& p = rig.make();
    for (int i = 1; i <= 8; ++i) rig.publish(i);
    ASSERT_TRUE(rig.answered());
    EXPECT_FALSE(p.failed()) << p.failure();
    EXPECT_EQ(p.appended(), 3u);
    EXPECT_EQ(rig.count(rig.metrics_key()), 3);
    auto head = rig.admin->command({"GET", rig.keys.head()});
    EXPECT_EQ(cluster::text_of(*head), "8");
}

TEST(SourcePublisher, APausedRedisHoldsNothingUpAndGetsEveryAppendWhenItAnswers) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    auto& p = rig.make();
    rig.redis.pause();
    for (int i = 1; i <= 500; ++i) rig.publish(i);
    // Nothing was answered, and nothing waited for an answer: every append is outstanding.
    EXPECT_EQ(p.backlog().messages, 500u);
    rig.redis.resume();
    ASSERT_TRUE(rig.answered());
    EXPECT_FALSE(p.failed()) << p.failure();
    EXPECT_EQ(p.appended(), 500u);
    EXPECT_EQ(rig.count(rig.metrics_key()), 500);
}

TEST(SourcePublisher, AnEventsAppendsLeaveTogetherWhenTheSourceGoesIdleOrWhenManyWait) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    auto& p = rig.make();
    for (int i = 1; i <= 3; ++i) rig.publish(i);  // one event's messages
    EXPECT_EQ(p.held(), 3u) << "held for company until the source goes idle";
    EXPECT_EQ(rig.count(rig.metrics_key()), 0) << "not written: Redis cannot hold them";
    p.idle(std::chrono::steady_clock::now() + 1s);  // the next event is far
    EXPECT_EQ(p.held(), 0u);
    ASSERT_TRUE(rig.until([&] { return rig.count(rig.metrics_key()) == 3; }));
    EXPECT_EQ(rig.script_calls(), 1) << "one call of the script for the three";

    // A catching-up source never goes idle: its appends leave in bounded batches.
    const int limit = static_cast<int>(SourcePublisher::kHoldAtMost);
    for (int i = 4; i < 4 + limit; ++i) rig.publish(i);
    EXPECT_EQ(p.held(), 0u);
    ASSERT_TRUE(rig.until([&] { return rig.count(rig.metrics_key()) == 3 + limit; }));
    rig.publish(4 + limit);
    EXPECT_EQ(p.held(), 1u);
    ASSERT_TRUE(rig.answered());  // backlog() writes what is held too
    EXPECT_EQ(rig.count(rig.metrics_key()), 4 + limit);
    EXPECT_EQ(p.appended(), std::uint64_t(4 + limit));
}

TEST(SourcePublisher, UnderASteadyRateAnEventsAppendsWaitForTheNextEventsWithinTheWindow) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    auto& p = rig.make();
    const auto gather = SourcePublisher::kGather;
    auto now = std::chrono::steady_clock::time_point{} + 1h;  // the tests' clock
    int i = 0;
    // Events 10 windows apart (the spec's cadences): each one's appends leave at once, even
    // when the next event is near.
    for (int k = 0; k < 40; ++k, now += 10 * gather) {
        rig.publish(++i);
        p.idle_at(now, now + gather / 4);
        ASSERT_EQ(p.held(), 0u) << "event " << k << " at a low rate";
    }
    // Then one event per half window: once a whole period has run at that rate, an event's
    // appends wait for the next one's while the first waited less than the window.
    for (int k = 0; k < 80; ++k, now += gather / 2) {
        rig.publish(++i);
        p.idle_at(now, now + 10 * gather);  // the next event far: nothing waits for it
        ASSERT_EQ(p.held(), 0u);
    }
    rig.publish(++i);
    p.idle_at(now, now + gather / 2);
    EXPECT_EQ(p.held(), 1u) << "the next event is near: held for its company";
    now += gather / 2;
    rig.publish(++i);
    p.idle_at(now, now + gather / 4);
    EXPECT_EQ(p.held(), 2u) << "still inside the window of the first";
    now += gather / 4;
    rig.publish(++i);
    p.idle_at(now, now + gather / 2);
    EXPECT_EQ(p.held(), 0u) << "the next event comes after the first has waited a window";
    // Behind its schedule (a burst of events due at one instant, framed one after another), the
    // next event is always due at once; still no append waits more than the window.
    rig.publish(++i);
    p.idle_at(now, now - gather);
    EXPECT_EQ(p.held(), 1u);
    now += gather;
    rig.publish(++i);
    p.idle_at(now, now - gather);
    EXPECT_EQ(p.held(), 0u) << "the first of them has waited the whole window";
    // After the world's last event no other follows (SimulatorSource says so with the end of
    // time): nothing waits for one.
    rig.publish(++i);
    p.idle_at(now, now - gather);
    EXPECT_EQ(p.held(), 1u);
    p.idle_at(now, std::chrono::steady_clock::time_point::max());
    EXPECT_EQ(p.held(), 0u) << "no event follows the world's last";
    ASSERT_TRUE(rig.answered());
    EXPECT_EQ(rig.count(rig.metrics_key()), i) << "every append written, none twice";
}

// A world that stops (stop_after) while its events come faster than kGather apart: each idle()
// holds an event's appends for the next event's company, and after the last event none comes.
// Redis must still end with every message the world published. Nothing here calls backlog(),
// which would write them.
TEST(SourcePublisher, AWorldThatStopsLeavesItsLastEventsAppendsInRedis) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    simulator::SimConfig c;
    c.time_scale = 1000;        // ~40 events per simulated second: tens of µs apart
    c.stop_after_ms = 100'000;  // ~4,300 messages in 100 ms: the rate is judged by 32 ms periods
    rig.publisher = std::make_unique<SourcePublisher>(rig.options, 0, connect_redis(rig.redis));
    simulator::SimulatorSource source(c);
    source.start(*rig.publisher);
    ASSERT_TRUE(wait_until([&] { return source.finished(); }, 10s));
    source.stop();

    engine::DiscardingPublisher discard;
    simulator::World world(c, discard);  // the same world, counted
    while (world.next_event_ms() <= c.epoch_ms + c.stop_after_ms) world.advance();
    const auto total = static_cast<long long>(world.messages_published());
    ASSERT_GT(total, 500);
    auto head = [&] {
        auto r = rig.admin->command({"GET", rig.keys.head()});
        return r && r->type == REDIS_REPLY_STRING ? std::atoll(r->str) : 0LL;
    };
    EXPECT_TRUE(rig.until([&] { return head() == total; })) << head() << " of " << total;
    EXPECT_FALSE(rig.publisher->failed()) << rig.publisher->failure();
}

TEST(SourcePublisher, ServesItsNodeAtOnceAndCountsAMessageHeldOnlyOnceRedisAnswers) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    engine::Hub hub(100);  // the node's, its stream declared as a node's world does
    hub.declare_stream(engine::Endpoint::metrics, "metrics");
    cluster::Follower follower(rig.options, hub, [](bool, const std::string&) {});
    auto& p = rig.make(/*skip=*/0, &follower);
    rig.redis.pause();
    for (int i = 1; i <= 5; ++i) rig.publish(i);
    p.idle(std::chrono::steady_clock::now() + 1s);
    const engine::Stream* served = hub.find(engine::Endpoint::metrics, "metrics");
    EXPECT_EQ(served->last_seq(), 5u) << "served without waiting for Redis";
    EXPECT_EQ(follower.newest_n(), 0u) << "what Redis has not answered, a successor regenerates";
    rig.redis.resume();
    ASSERT_TRUE(rig.answered());
    EXPECT_EQ(follower.newest_n(), 5u);
    EXPECT_EQ(rig.count(rig.metrics_key()), 5);
}

// Redis answering on the admin's connection does not put the publisher's reply in its socket at
// the same instant: a read that must come is awaited (each idle_at() a read could be due at),
// one that must not is checked once its replies had every chance to come.
TEST(SourcePublisher, BetweenEventsReadsRedisRepliesOnlyWhenManyOrTheLastReadIsOld) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    auto& p = rig.make();
    const auto every = SourcePublisher::kReadEvery;
    auto t = std::chrono::steady_clock::now();
    const auto far = t + 1h;
    rig.publish(1);
    p.idle_at(t, far);  // written; the first read
    ASSERT_TRUE(rig.until([&] { return rig.count(rig.metrics_key()) == 1; }));
    ASSERT_TRUE(rig.until([&] {
        p.idle_at(t += every, far);  // the last read is old: read
        return p.appended() == 1;
    }));
    rig.publish(2);
    p.idle_at(t + every / 2, far);  // written, not read: the last read is new
    EXPECT_EQ(p.held(), 0u);
    ASSERT_TRUE(rig.until([&] { return rig.count(rig.metrics_key()) == 2; }));
    p.idle_at(t + every / 2, far);
    EXPECT_EQ(p.appended(), 1u) << "answered, and not read while the last read is new";

    // Many unanswered (one fewer written than would leave without an idle): read whatever the
    // time.
    const int many = static_cast<int>(SourcePublisher::kReadAfter) - 1;
    for (int i = 3; i < 3 + many; ++i) rig.publish(i);
    ASSERT_TRUE(rig.until([&] {
        p.idle_at(t + every / 2, far);
        return p.appended() > 1;
    }));
}

TEST(RespCommand, RedisReadsEveryWordAsWritten) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    auto c = connect_redis(redis);
    const std::string long_word(3000, 'x');
    std::string command;
    cluster::resp::start_command(command, 7);
    cluster::resp::add_word(command, "RPUSH");
    cluster::resp::add_word(command, "words");
    cluster::resp::add_word(command, "line\r\nbreak");
    cluster::resp::add_word(command, "");
    cluster::resp::add_word(command, std::int64_t{-42});
    cluster::resp::add_word(command, std::int64_t{0});
    cluster::resp::add_word(command, long_word);
    ASSERT_TRUE(c->append_formatted(command)) << c->error();
    auto pushed = c->next_reply();
    ASSERT_TRUE(pushed) << c->error();
    EXPECT_EQ(cluster::integer_of(*pushed), 5);
    auto r = c->command({"LRANGE", "words", "0", "-1"});
    ASSERT_TRUE(r && r->elements == 5);
    EXPECT_EQ(cluster::text_of(*r->element[0]), "line\r\nbreak");
    EXPECT_EQ(cluster::text_of(*r->element[1]), "");
    EXPECT_EQ(cluster::text_of(*r->element[2]), "-42");
    EXPECT_EQ(cluster::text_of(*r->element[3]), "0");
    EXPECT_EQ(cluster::text_of(*r->element[4]), long_word);
}

TEST(SourcePublisher, StopsWhenTheLeaseIsAnotherNodesAndAppendsNothing) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig("another");
    auto& p = rig.make();
    int i = 0;
    ASSERT_TRUE(rig.until([&] {
        rig.publish(++i);
        return p.failed();
    }));
    EXPECT_EQ(p.failure(), "the source lease passed to another node");
    EXPECT_EQ(p.appended(), 0u);
    EXPECT_EQ(rig.count(rig.metrics_key()), 0);
    EXPECT_EQ(p.backlog().messages, 0u);  // a failed publisher waits for nothing
}

TEST(SourcePublisher, SaysSoWhenRedisForgotItsScripts) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    auto& p = rig.make();
    ASSERT_TRUE(rig.admin->command({"SCRIPT", "FLUSH"}));
    int i = 0;
    ASSERT_TRUE(rig.until([&] {
        rig.publish(++i);
        return p.failed();
    }));
    EXPECT_NE(p.failure().find("NOSCRIPT"), std::string::npos) << p.failure();
}

TEST(SourcePublisher, SaysWhichRedisWentWhenItGoes) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    auto& p = rig.make();
    rig.publish(1);
    ASSERT_TRUE(rig.answered());
    rig.redis.kill();
    int i = 1;
    ASSERT_TRUE(rig.until([&] {
        rig.publish(++i);
        return p.failed();
    }));
    EXPECT_NE(p.failure().find("127.0.0.1:" + std::to_string(rig.redis.port())), std::string::npos)
        << p.failure();
}

TEST(SourcePublisher, FailsAtOnceWhenTheScriptsCannotBeLoaded) {
    SKIP_WITHOUT_REDIS();
    PublisherRig rig;
    auto connection = connect_redis(rig.redis);  // open when Redis goes
    rig.redis.kill();
    SourcePublisher p(rig.options, 0, std::move(connection));
    EXPECT_TRUE(p.failed());
    EXPECT_NE(p.failure().find("loading the publish scripts"), std::string::npos) << p.failure();
}

}  // namespace
}  // namespace streambed::testing
