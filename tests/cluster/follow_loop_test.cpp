// follow_loop_test.cpp: a Redis connection's reads driven by an io_context (FollowLoop), and the
// follower that runs them on the hub's I/O thread — on a real redis-server. Every reply reaches
// the I/O thread whole and in order; the loop ends once, saying why: stopped, Redis gone, an
// error reply, no reply within the deadline; a message the follower reads is ingested on the
// ingest context's thread, not a thread of its own.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

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

// What a loop handed over, and how it ended.
struct Outcome {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<long long> integers;
    std::vector<std::size_t> lengths;
    std::vector<std::thread::id> threads;
    int ends = 0;
    std::string error;

    template <class Pred>
    bool wait(Pred pred) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, 10s, [&] { return pred(*this); });
    }
};

std::unique_ptr<RedisConnection> connect(const RedisServer& redis) {
    std::string error;
    auto address = cluster::parse_redis_url(redis.url(), error);
    auto c = RedisConnection::open(*address, std::chrono::milliseconds(1000), error);
    EXPECT_TRUE(c) << error;
    return c;
}

std::shared_ptr<FollowLoop> loop_on(IoThread& io, const RedisServer& redis,
                                    std::vector<std::string> command, Outcome& out,
                                    std::chrono::milliseconds deadline = 2s) {
    return std::make_shared<FollowLoop>(
        io.ioc, connect(redis), deadline, [command] { return command; },
        [&out](const redisReply& r) {
            std::lock_guard lock(out.mu);
            out.integers.push_back(r.type == REDIS_REPLY_INTEGER ? r.integer : -1);
            out.lengths.push_back(r.type == REDIS_REPLY_STRING ? r.len : 0);
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

TEST(FollowLoop, HandsEveryReplyOverInOrderOnTheIoThreadUntilStopped) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    IoThread io;
    Outcome out;
    auto loop = loop_on(io, redis, {"INCR", "counter"}, out);
    loop->start();
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.integers.size() >= 50; }));
    loop->stop();
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.ends > 0; }));
    std::lock_guard lock(out.mu);
    EXPECT_EQ(out.ends, 1);
    EXPECT_EQ(out.error, "");  // stopped
    for (std::size_t i = 0; i < out.integers.size(); ++i)
        ASSERT_EQ(out.integers[i], static_cast<long long>(i + 1));
    for (auto id : out.threads) EXPECT_EQ(id, io.thread.get_id());
}

TEST(FollowLoop, AReplyLargerThanOneReadArrivesWhole) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    const std::string big(300'000, 'x');  // hiredis reads 16 KiB at a time
    ASSERT_TRUE(connect(redis)->command({"SET", "big", big}));
    IoThread io;
    Outcome out;
    auto loop = loop_on(io, redis, {"GET", "big"}, out);
    loop->start();
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.lengths.size() >= 3; }));
    loop->stop();
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.ends > 0; }));
    std::lock_guard lock(out.mu);
    for (auto n : out.lengths) EXPECT_EQ(n, big.size());
}

TEST(FollowLoop, EndsOnceSayingWhyWhenRedisGoes) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    IoThread io;
    Outcome out;
    auto loop = loop_on(io, redis, {"BLPOP", "nothing", "0.05"}, out);
    loop->start();
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.integers.size() >= 2; }));
    redis.kill();
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.ends > 0; }));
    loop->stop();  // after the end: nothing more
    {
        std::lock_guard lock(out.mu);
        EXPECT_NE(out.error.find(redis.url().substr(8)), std::string::npos) << out.error;
    }
    // A stop posted after the end is a no-op: still one end.
    Outcome after;
    boost::asio::post(io.ioc, [&after] {
        std::lock_guard lock(after.mu);
        ++after.ends;
        after.cv.notify_all();
    });
    ASSERT_TRUE(after.wait([](Outcome& o) { return o.ends > 0; }));
    std::lock_guard lock(out.mu);
    EXPECT_EQ(out.ends, 1);
}

TEST(FollowLoop, AnErrorReplyEndsItWithRedisWords) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    ASSERT_TRUE(connect(redis)->command({"SET", "word", "not a number"}));
    IoThread io;
    Outcome out;
    auto loop = loop_on(io, redis, {"INCR", "word"}, out);
    loop->start();
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.ends > 0; }));
    std::lock_guard lock(out.mu);
    EXPECT_TRUE(out.integers.empty());
    EXPECT_NE(out.error.find("not an integer"), std::string::npos) << out.error;
}

TEST(FollowLoop, NoReplyWithinTheDeadlineEndsIt) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    IoThread io;
    Outcome out;
    // Blocks for ever: the loop must not.
    auto loop = loop_on(io, redis, {"BLPOP", "nothing", "0"}, out, 200ms);
    loop->start();
    ASSERT_TRUE(out.wait([](Outcome& o) { return o.ends > 0; }));
    std::lock_guard lock(out.mu);
    EXPECT_EQ(out.error, "no reply from Redis within 200 ms");
}

// A hub target with an I/O thread, as a shard is: records where each message arrived.
class ThreadTarget final : public engine::FanoutTarget {
  public:
    explicit ThreadTarget(IoThread& io) : io_(io) {}
    void on_stream_added(engine::Stream*) override {}
    void on_message(engine::MessagePtr m) override {
        std::lock_guard lock(out.mu);
        out.integers.push_back(static_cast<long long>(m->seq));
        out.threads.push_back(std::this_thread::get_id());
        out.cv.notify_all();
    }
    engine::Backlog backlog() const override { return {}; }
    boost::asio::io_context* io_context() override { return &io_.ioc; }
    Outcome out;

  private:
    IoThread& io_;
};

TEST(Follower, IngestsOnTheHubsIoThread) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    IoThread io;
    ThreadTarget target(io);
    engine::Hub hub(1000);
    hub.attach(&target);
    hub.declare_stream(engine::Endpoint::metrics, "metrics");
    cluster::ClusterOptions options;
    std::string error;
    options.redis = *cluster::parse_redis_url(redis.url(), error);
    options.name = cluster_name();
    cluster::Follower follower(options, hub, [](bool, const std::string&) {});
    follower.start();
    auto writer = connect(redis);
    const auto key = cluster::ClusterKeys(options.name).stream(engine::Endpoint::metrics, "metrics");
    for (int seq = 1; seq <= 3; ++seq)
        ASSERT_TRUE(writer->command({"XADD", key, "*", "n", std::to_string(seq), "s",
                                     std::to_string(seq), "y", "metrics", "t", "1", "b",
                                     R"({"seq":)" + std::to_string(seq) + "}"}));
    ASSERT_TRUE(target.out.wait([](Outcome& o) { return o.integers.size() >= 3; }));
    follower.stop();
    std::lock_guard lock(target.out.mu);
    EXPECT_EQ(target.out.integers, (std::vector<long long>{1, 2, 3}));
    for (auto t : target.out.threads) EXPECT_EQ(t, io.thread.get_id());
    EXPECT_EQ(hub.find(engine::Endpoint::metrics, "metrics")->last_seq(), 3u);
}

}  // namespace
}  // namespace streambed::testing
