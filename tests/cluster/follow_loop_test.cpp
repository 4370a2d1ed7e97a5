// follow_loop_test.cpp: a subscribed Redis connection read by an io_context (FollowLoop), and
// the follower that runs it on the hub's I/O thread — on a real redis-server. Every message
// reaches the I/O thread whole and in order; a quiet connection is kept by PING; the loop ends
// once, saying why: stopped, Redis gone, an error reply, PING unanswered. A follower takes what
// was published before it subscribed (the streams) and after (the feed), each message once, on
// the ingest context's thread.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cluster/cluster_scripts.hpp"
#include "cluster/follow_loop.hpp"
#include "cluster/follower.hpp"
#include "engine/hub.hpp"
#include "tests/cluster/cluster_harness.hpp"

namespace streambed::testing {
namespace {

using cluster::FollowLoop;
using cluster::RedisConnection;

// An io_context run by a thread of its own, as a shard's is.
struct IoThread {
    boost::asio::io_context ioc;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        ioc.get_executor()};
    std::thread thread{[this] { ioc.run(); }};
    ~IoThread() {
        work.reset();
        ioc.stop();
        thread.join();
    }
};

// What a loop handed over (each reply's last element as text), and how it ended.
struct Outcome {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> messages, pongs;
    std::vector<std::thread::id> threads;
    int ends = 0;
    std::string error;

    template <class Pred>
    bool wait(Pred pred) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, 10s, [&] { return pred(*this); });
    }
};

std::unique_ptr<RedisConnection> subscribed(const RedisServer& redis) {
    auto c = connect_redis(redis);
    EXPECT_TRUE(c->command({"SUBSCRIBE", "feed"}));
    return c;
}

std::shared_ptr<FollowLoop> loop_on(IoThread& io, std::unique_ptr<RedisConnection> c, Outcome& out,
                                    std::chrono::milliseconds quiet = 2s) {
    return std::make_shared<FollowLoop>(
        io.ioc, std::move(c), quiet,
        [&out](const redisReply& r) {
            std::lock_guard lock(out.mu);
            const bool array = r.type == REDIS_REPLY_ARRAY && r.elements > 0;
            const auto kind = array ? cluster::text_of(*r.element[0]) : "";
            if (kind == "message")
                out.messages.emplace_back(cluster::text_of(*r.element[r.elements - 1]));
            if (kind == "pong") out.pongs.emplace_back();
            out.threads.push_back(std::this_thread::get_id());
            out.cv.notify_all();
        },
        [&out](const std::string& error) {
            std::lock_guard lock(out.mu);
            ++out.ends;
            out.error = error;
            out.cv.notify_all();
        });
}

// A redis-server, and a loop started on a connection subscribed to "feed" there.
struct Subscribed {
    RedisServer redis;
    Outcome out;
    IoThread io;  // after out: its pending handlers go before what they refer to
    std::shared_ptr<FollowLoop> loop;
    explicit Subscribed(std::chrono::milliseconds quiet = 2s)
        : loop(loop_on(io, subscribed(redis), out, quiet)) {
        loop->start();
    }
    bool stop() {  // and wait for the end
        loop->stop();
        return out.wait([](Outcome& o) { return o.ends > 0; });
    }
};

TEST(FollowLoop, HandsEveryMessageOverInOrderOnTheIoThreadUntilStopped) {
    SKIP_WITHOUT_REDIS();
    Subscribed s;
    auto& out = s.out;
    auto publisher = connect_redis(s.redis);
    for (int i = 1; i <= 50; ++i)
        ASSERT_TRUE(publisher->command({"PUBLISH", "feed", std::to_string(i)}));
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.messages.size() >= 50; }));
    ASSERT_TRUE(s.stop());
    std::lock_guard lock(out.mu);
    EXPECT_EQ(out.ends, 1);
    EXPECT_EQ(out.error, "");  // stopped
    for (std::size_t i = 0; i < out.messages.size(); ++i)
        ASSERT_EQ(out.messages[i], std::to_string(i + 1));
    for (auto id : out.threads) EXPECT_EQ(id, s.io.thread.get_id());
}

TEST(FollowLoop, AMessageLargerThanOneReadArrivesWhole) {
    SKIP_WITHOUT_REDIS();
    Subscribed s;
    auto& out = s.out;
    const std::string big(300'000, 'x');  // hiredis's reads and the loop's are 16 KiB
    auto publisher = connect_redis(s.redis);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(publisher->command({"PUBLISH", "feed", big}));
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.messages.size() >= 3; }));
    ASSERT_TRUE(s.stop());
    std::lock_guard lock(out.mu);
    for (auto& m : out.messages) EXPECT_EQ(m, big);
}

TEST(FollowLoop, EndsOnceSayingWhyWhenRedisGoes) {
    SKIP_WITHOUT_REDIS();
    Subscribed s;
    auto& out = s.out;
    ASSERT_TRUE(connect_redis(s.redis)->command({"PUBLISH", "feed", "before"}));
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.messages.size() >= 1; }));
    s.redis.kill();
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.ends > 0; }));
    s.loop->stop();  // after the end: nothing more
    Outcome after;   // runs after the stop's handler on the same thread
    boost::asio::post(s.io.ioc, [&after] {
        std::lock_guard lock(after.mu);
        ++after.ends;
        after.cv.notify_all();
    });
    ASSERT_TRUE(after.wait([](Outcome& o) { return o.ends > 0; }));
    std::lock_guard lock(out.mu);
    EXPECT_EQ(out.ends, 1);
    EXPECT_NE(out.error.find(s.redis.url().substr(8)), std::string::npos) << out.error;
}

TEST(FollowLoop, AnErrorReplyEndsItWithRedisWords) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    auto c = connect_redis(redis);
    ASSERT_TRUE(c->command({"SET", "word", "not a number"}));
    ASSERT_TRUE(c->append({"INCR", "word"}));  // queued: the loop writes it
    IoThread io;
    Outcome out;
    auto loop = loop_on(io, std::move(c), out);
    loop->start();
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.ends > 0; }));
    std::lock_guard lock(out.mu);
    EXPECT_TRUE(out.messages.empty());
    EXPECT_NE(out.error.find("not an integer"), std::string::npos) << out.error;
}

TEST(FollowLoop, BytesThatAreNotRedisEndItNamingTheProtocolError) {
    // Not a Redis: a listener on port 0 that answers the connection with garbage.
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
    std::string error;
    auto address =
        cluster::parse_redis_url("redis://127.0.0.1:" + std::to_string(ntohs(a.sin_port)), error);
    auto c = RedisConnection::open(*address, std::chrono::milliseconds(1000), error);
    ASSERT_TRUE(c) << error;
    const int peer = ::accept(listener, nullptr, nullptr);
    ASSERT_GE(peer, 0);
    IoThread io;
    Outcome out;
    auto loop = loop_on(io, std::move(c), out);
    loop->start();
    ASSERT_EQ(::write(peer, "%garbage\r\n", 10), 10);
    const bool ended = out.wait([](Outcome& o) { return o.ends > 0; });
    ::close(peer);
    ::close(listener);
    ASSERT_TRUE(ended);
    std::lock_guard lock(out.mu);
    EXPECT_NE(out.error.find("Protocol error"), std::string::npos) << out.error;
}

TEST(FollowLoop, AQuietConnectionIsKeptByPing) {
    SKIP_WITHOUT_REDIS();
    Subscribed s(250ms);  // long enough for a PONG on a loaded machine
    auto& out = s.out;
    // Nothing published: three PINGs answered, and the loop still runs.
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.pongs.size() >= 3 || o.ends > 0; }));
    ASSERT_TRUE(s.stop());
    std::lock_guard lock(out.mu);
    EXPECT_GE(out.pongs.size(), 3u);
    EXPECT_EQ(out.error, "");
}

TEST(FollowLoop, ARedisThatStopsAnsweringEndsIt) {
    SKIP_WITHOUT_REDIS();
    Subscribed s(100ms);
    auto& out = s.out;
    s.redis.pause();
    const bool ended = out.wait([](Outcome& o) { return o.ends > 0; });
    s.redis.resume();
    ASSERT_TRUE(ended);
    std::lock_guard lock(out.mu);
    EXPECT_NE(out.error.find("no reply to PING within 100 ms"), std::string::npos) << out.error;
}

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

// Publishes seq n of the metrics stream with the source's own script, as the lease's holder.
void publish(RedisConnection& c, const cluster::ClusterOptions& o, int n) {
    const cluster::ClusterKeys keys(o.name);
    cluster::Reply r =
        c.command({"EVAL", cluster::kPublishScript, "3", keys.lease(),
                   keys.stream(engine::Endpoint::metrics, "metrics"), keys.head(), "node",
                   std::to_string(n), "1000", std::to_string(n), "metrics", "1",
                   R"({"seq":)" + std::to_string(n) + "}", keys.feed(o.redis.db)});
    ASSERT_TRUE(r && cluster::integer_of(*r) == 1);
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
    EXPECT_TRUE(rig.publish_until_pushed(n));
    rig.follower->stop();
    rig.expect_each_once(n);
}

TEST(Follower, SkipsWhatItCannotReadOnTheFeedAndGoesOn) {
    SKIP_WITHOUT_REDIS();
    FollowerRig rig;
    rig.start();
    // Before each message, three on the feed that no follower can read: no entry, no id, an
    // entry of no known type.
    const auto stream =
        cluster::ClusterKeys(rig.options.name).stream(engine::Endpoint::metrics, "metrics");
    int n = 0;
    EXPECT_TRUE(rig.publish_until_pushed(
        n, {"garbage", "KEY\nnot-an-id\nx", stream + "\n1-1\n1\n1\nno-such-type\n1\n{}"}));
    rig.follower->stop();
    rig.expect_each_once(n);
}

// As on a node that became the source: paused, the follower reads what Redis holds, then
// nothing (unsubscribed) while the source posts its own messages onto the ingest thread; resumed,
// it takes what it missed after them, each once and in order, then follows the feed again.
TEST(Follower, PausedForASourceItReadsNothingAndResumedItCatchesUpAfterWhatTheSourceServed) {
    SKIP_WITHOUT_REDIS();
    FollowerRig rig;
    rig.start();
    int n = 0;
    ASSERT_TRUE(rig.publish_until_pushed(n));
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
    EXPECT_TRUE(rig.publish_until_pushed(n));
    rig.follower->stop();
    rig.expect_each_once(n);
}

TEST(Follower, PausedWhileRedisIsGoneItReturnsAndResumedItFollowsOnceRedisIsBack) {
    SKIP_WITHOUT_REDIS();
    FollowerRig rig;
    rig.start();
    int n = 0;
    ASSERT_TRUE(rig.publish_until_pushed(n));
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
