// follower_test.cpp: the follower that runs a FollowLoop on the hub's I/O thread, on a real
// redis-server. It takes what was published before it subscribed (the streams) and after (the
// feed), each message once, on the ingest context's thread; paused for the node's own source it
// reads nothing, however quickly the source stops and starts again; resumed, it catches up.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <future>
#include <mutex>
#include <thread>

#include "cluster/cluster_scripts.hpp"
#include "cluster/follower.hpp"
#include "engine/hub.hpp"
#include "tests/cluster/cluster_harness.hpp"
#include "tests/cluster/follow_rig.hpp"

namespace streambed::testing {
namespace {

using cluster::RedisConnection;

// A hub target with an I/O thread, as a shard is: records where each message arrived.
class ThreadTarget final : public engine::FanoutTarget {
  public:
    explicit ThreadTarget(IoThread& io) : io_(io) {}
    void on_stream_added(engine::Stream*) override {}
    void on_message(engine::MessagePtr m) override {
        std::lock_guard lock(out.mu);
        out.messages.push_back(std::to_string(m->seq));
        out.threads.push_back(std::this_thread::get_id());
        out.cv.notify_all();
    }
    engine::Backlog backlog() const override { return {}; }
    boost::asio::io_context* io_context() override { return &io_.ioc; }
    Outcome out;

  private:
    IoThread& io_;
};

// Publishes seq first..last of the metrics stream in one call of the source's own script, as
// the lease's holder.
void publish(RedisConnection& c, const cluster::ClusterOptions& o, int first, int last) {
    const cluster::ClusterKeys keys(o.name);
    std::vector<std::string> call{"EVAL", cluster::kPublishScript,
                                  std::to_string(2 + last - first + 1), keys.lease(), keys.head()};
    for (int n = first; n <= last; ++n)
        call.push_back(keys.stream(engine::Endpoint::metrics, "metrics"));
    for (auto w : {std::string("node"), std::string("1000"), keys.feed(o.redis.db)})
        call.push_back(w);
    for (int n = first; n <= last; ++n)
        for (auto w : {std::to_string(n), std::to_string(n), std::string("metrics"),
                       std::string("1"), R"({"seq":)" + std::to_string(n) + "}"})
            call.push_back(w);
    cluster::Reply r = c.command(call);
    ASSERT_TRUE(r && cluster::integer_of(*r) == last - first + 1);
}
void publish(RedisConnection& c, const cluster::ClusterOptions& o, int n) {
    publish(c, o, n, n);
}

// A hub with the metrics stream and one target on an I/O thread, a cluster on a real
// redis-server with a writer holding its lease, and (once started) a follower of it.
struct FollowerRig {
    RedisServer redis;
    IoThread io;
    ThreadTarget target{io};
    engine::Hub hub{1000};
    cluster::ClusterOptions options;
    std::unique_ptr<RedisConnection> writer;
    std::unique_ptr<cluster::Follower> follower;

    FollowerRig() {
        hub.attach(&target);
        hub.declare_stream(engine::Endpoint::metrics, "metrics");
        std::string error;
        options.redis = *cluster::parse_redis_url(redis.url(), error);
        options.name = cluster_name();
        writer = connect_redis(redis);
        EXPECT_TRUE(writer->command({"SET", cluster::ClusterKeys(options.name).lease(), "node"}));
    }
    ~FollowerRig() {
        if (follower) follower->stop();
    }
    void start() {
        follower =
            std::make_unique<cluster::Follower>(options, hub, [](bool, const std::string&) {});
        follower->start();
    }
    // Starts the follower and publishes until a message reaches the target by the feed (n: how
    // many were published).
    bool follow(int& n) {
        start();
        return publish_until_pushed(n);
    }
    // Publishes seq n+1, n+2, ... (each after `junk` on the feed) until one reaches the target
    // by the feed, on the I/O thread (the catch-up may read the first ones): false if none did
    // within 100.
    bool publish_until_pushed(int& n, const std::vector<std::string>& junk = {}) {
        const auto feed = cluster::ClusterKeys(options.name).feed(options.redis.db);
        for (bool pushed = false; n < 100;) {
            for (auto& j : junk) EXPECT_TRUE(writer->command({"PUBLISH", feed, j}));
            publish(*writer, options, ++n);
            if (!target.out.wait([n](Outcome& o) { return o.messages.size() >= std::size_t(n); }))
                return false;
            {
                std::lock_guard lock(target.out.mu);
                pushed = target.out.threads.back() == io.thread.get_id();
            }
            if (pushed) return true;
        }
        return false;
    }
    // Publishes until a message reaches the target by the feed again, stops, and checks that
    // every message came once, in order.
    void follow_on_then_stop(int& n) {
        EXPECT_TRUE(publish_until_pushed(n));
        follower->stop();
        expect_each_once(n);
    }
    // Every message the target got, each once and in order: 1..n.
    void expect_each_once(int n) {
        std::lock_guard lock(target.out.mu);
        ASSERT_EQ(target.out.messages.size(), std::size_t(n));
        for (int i = 0; i < n; ++i) EXPECT_EQ(target.out.messages[i], std::to_string(i + 1));
        EXPECT_EQ(hub.find(engine::Endpoint::metrics, "metrics")->last_seq(), std::uint64_t(n));
    }
};

TEST(Follower, TakesWhatCameBeforeAndAfterItSubscribedOnceOnTheHubsIoThread) {
    SKIP_WITHOUT_REDIS();
    FollowerRig rig;
    publish(*rig.writer, rig.options, 1);  // before it subscribed: read from the stream
    publish(*rig.writer, rig.options, 2);
    rig.start();
    ASSERT_TRUE(rig.target.out.wait([](Outcome& o) { return o.messages.size() >= 2; }));
    int n = 2;  // after: read by the catch-up while it still reads, then pushed on the feed
    rig.follow_on_then_stop(n);
}

TEST(Follower, SkipsWhatItCannotReadOnTheFeedAndGoesOn) {
    SKIP_WITHOUT_REDIS();
    FollowerRig rig;
    rig.start();
    // Before each message, four on the feed that no follower can read: no entry, no id, bytes
    // shorter than their length says, an entry of no known type.
    const auto stream =
        cluster::ClusterKeys(rig.options.name).stream(engine::Endpoint::metrics, "metrics");
    int n = 0;
    EXPECT_TRUE(rig.publish_until_pushed(n, {"garbage", "KEY\nnot-an-id\n1\n1\nmetrics\n1\n2\n{}",
                                             stream + "\n1-1\n1\n1\nmetrics\n1\n99\n{}",
                                             stream + "\n1-1\n1\n1\nno-such-type\n1\n2\n{}"}));
    rig.follower->stop();
    rig.expect_each_once(n);
}

TEST(Follower, TakesEveryEntryOfABatchPushedAsOneMessageInOrder) {
    SKIP_WITHOUT_REDIS();
    FollowerRig rig;
    int n = 0;
    ASSERT_TRUE(rig.follow(n));
    publish(*rig.writer, rig.options, n + 1, n + 5);  // one push of five entries
    n += 5;
    ASSERT_TRUE(
        rig.target.out.wait([n](Outcome& o) { return o.messages.size() >= std::size_t(n); }));
    {
        std::lock_guard lock(rig.target.out.mu);
        for (std::size_t i = rig.target.out.threads.size() - 5; i < rig.target.out.threads.size();
             ++i)
            EXPECT_EQ(rig.target.out.threads[i], rig.io.thread.get_id()) << "pushed, not read";
    }
    rig.follower->stop();
    rig.expect_each_once(n);
}

// As on a node that became the source: paused, the follower reads what Redis holds, then
// nothing (unsubscribed) while the source posts its own messages onto the ingest thread; resumed,
// it takes what it missed after them, each once and in order, then follows the feed again.
TEST(Follower, PausedForASourceItReadsNothingAndResumedItCatchesUpAfterWhatTheSourceServed) {
    SKIP_WITHOUT_REDIS();
    FollowerRig rig;
    int n = 0;
    ASSERT_TRUE(rig.follow(n));
    publish(*rig.writer, rig.options, ++n);  // not waited for: the pause reads it
    rig.follower->pause();
    auto* metrics = rig.hub.find(engine::Endpoint::metrics, "metrics");
    EXPECT_EQ(metrics->last_seq(), std::uint64_t(n));
    const auto feed = cluster::ClusterKeys(rig.options.name).feed(rig.options.redis.db);
    auto subscribers = rig.writer->command({"PUBSUB", "NUMSUB", feed});
    ASSERT_TRUE(subscribers && subscribers->elements == 2);
    EXPECT_EQ(subscribers->element[1]->integer, 0) << "a paused follower reads nothing";

    const int served = ++n;  // the source's: served here first, then appended
    auto m = std::make_shared<engine::Message>();
    m->seq = served;
    m->type = engine::MessageType::metrics;
    m->time_ms = 1;
    m->bytes = R"({"seq":)" + std::to_string(served) + "}";
    rig.follower->take_served(metrics->id(), *m);  // the hub is this thread's now
    ASSERT_TRUE(rig.target.out.wait(
        [served](Outcome& o) { return o.messages.size() >= std::size_t(served); }));
    EXPECT_EQ(rig.follower->newest_n(), std::uint64_t(served - 1)) << "Redis does not hold it";
    publish(*rig.writer, rig.options, served);
    rig.follower->redis_holds(served);  // its append answered
    EXPECT_EQ(rig.follower->newest_n(), std::uint64_t(served));
    publish(*rig.writer, rig.options, ++n);  // after the source stopped: the catch-up's
    rig.follower->resume();
    ASSERT_TRUE(
        rig.target.out.wait([n](Outcome& o) { return o.messages.size() >= std::size_t(n); }));
    rig.follow_on_then_stop(n);
}

// A source that stops at once and starts again (an append refused, a lease fought over) resumes
// and pauses the follower back to back, before its thread has woken from the first pause: each
// pause still returns, after a read of its own of what Redis holds.
TEST(Follower, PausedAgainAtOnceAfterAResumeItReturnsEachTimeHavingReadWhatRedisHolds) {
    SKIP_WITHOUT_REDIS();
    FollowerRig rig;
    int n = 0;
    ASSERT_TRUE(rig.follow(n));
    auto* metrics = rig.hub.find(engine::Endpoint::metrics, "metrics");
    rig.follower->pause();
    auto cycles = std::async(std::launch::async, [&] {
        for (int i = 0; i < 20; ++i) {
            publish(*rig.writer, rig.options, ++n);  // while paused: the next pause reads it
            rig.follower->resume();
            rig.follower->pause();
            if (metrics->last_seq() != std::uint64_t(n)) return i;
        }
        return -1;
    });
    if (cycles.wait_for(10s) != std::future_status::ready) {
        ADD_FAILURE() << "a pause after a resume never returned";
        rig.follower->stop();  // ends the wait, so that the cycles end
    }
    EXPECT_EQ(cycles.get(), -1) << "a pause returned before reading what Redis holds";
    rig.follower->resume();
    rig.follow_on_then_stop(n);
}

TEST(Follower, PausedWhileRedisIsGoneItReturnsAndResumedItFollowsOnceRedisIsBack) {
    SKIP_WITHOUT_REDIS();
    FollowerRig rig;
    int n = 0;
    ASSERT_TRUE(rig.follow(n));
    rig.redis.kill();
    rig.follower->pause();  // its read of what Redis holds fails, saying so: it waits for nothing
    rig.follower->resume();
    rig.redis.start();  // empty, on the same port
    ASSERT_TRUE(rig.redis.running());
    rig.writer = connect_redis(rig.redis);
    ASSERT_TRUE(
        rig.writer->command({"SET", cluster::ClusterKeys(rig.options.name).lease(), "node"}));
    EXPECT_TRUE(rig.publish_until_pushed(n)) << "the follower did not follow again";
    rig.follower->stop();
    rig.expect_each_once(n);
}

}  // namespace
}  // namespace streambed::testing
