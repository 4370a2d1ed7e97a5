// follow_loop_test.cpp: a subscribed Redis connection read by an io_context (FollowLoop), on a
// real redis-server. Every message reaches the I/O thread whole and in order; a quiet connection
// is kept by PING; the loop ends once, saying why: stopped, Redis gone, an error reply, PING
// unanswered. The follower that runs it: follower_test.cpp.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <boost/asio/post.hpp>
#include <thread>

#include "cluster/follow_loop.hpp"
#include "tests/cluster/cluster_harness.hpp"
#include "tests/cluster/follow_rig.hpp"

namespace streambed::testing {
namespace {

using cluster::FollowLoop;
using cluster::RedisConnection;

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

}  // namespace
}  // namespace streambed::testing
