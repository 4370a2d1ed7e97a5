// cluster_join_test.cpp: who may join a cluster — a bad address, an unreachable Redis, another
// world (seed) or an unpaced source are refused at start with one line and exit 2, before the
// listening line; a clean shutdown of the source hands the lease on at once.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>

#include "engine/clock.hpp"
#include "tests/cluster/cluster_harness.hpp"

namespace streambed::testing {
namespace {

// Runs `serve --port 0 ARGS...` to its end; the exit status and what it wrote on stderr.
std::pair<int, std::string> refused(const std::vector<std::string>& args) {
    std::vector<std::string> all{"serve", "--port", "0"};
    all.insert(all.end(), args.begin(), args.end());
    ChildProcess child(STREAMBED_BINARY, all);
    const auto status = child.wait_exit(20s);
    if (!status) return {-1, "still running: " + child.out()};
    EXPECT_EQ(child.out().find("listening on"), std::string::npos);
    return {WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, child.err()};
}

TEST(ClusterJoin, ABadAddressIsRefusedWithOneLine) {
    auto [code, err] = refused({"--redis", "http://127.0.0.1:6379"});
    EXPECT_EQ(code, 2);
    EXPECT_NE(err.find("is not a Redis address"), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    auto [code2, err2] = refused({"--redis", "unix://redis.sock"});
    EXPECT_EQ(code2, 2);
    EXPECT_NE(err2.find("absolute path"), std::string::npos) << err2;
}

TEST(ClusterJoin, AnUnreachableRedisIsRefusedAtStart) {
    const auto port = free_port();  // nothing listens there
    auto [code, err] = refused({"--redis", "redis://127.0.0.1:" + std::to_string(port)});
    EXPECT_EQ(code, 2);
    EXPECT_NE(err.find("cannot reach Redis"), std::string::npos) << err;
    auto [code2, err2] = refused({"--redis", "unix:///nonexistent/redis.sock"});
    EXPECT_EQ(code2, 2);
    EXPECT_NE(err2.find("unix:///nonexistent/redis.sock"), std::string::npos) << err2;
    EXPECT_NE(err2.find("No such file"), std::string::npos) << err2;
}

TEST(ClusterJoin, AnUnpacedOrUndeterministicSourceIsRefused) {
    auto [code, err] = refused({"--redis", "redis://127.0.0.1:1", "--time-scale", "max"});
    EXPECT_EQ(code, 2);
    EXPECT_NE(err.find("paced"), std::string::npos) << err;
    auto [code2, err2] = refused({"--redis", "redis://127.0.0.1:1", "--flood", "100"});
    EXPECT_EQ(code2, 2);
    EXPECT_NE(err2.find("--flood"), std::string::npos) << err2;
}

TEST(ClusterJoin, ANodeOfAnotherWorldIsRefused) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    const auto name = cluster_name();
    ClusterNodeProcess first(redis.url(), name);
    auto [code, err] =
        refused({"--redis", redis.url(), "--cluster", name, "--time-scale", "10", "--seed", "7"});
    EXPECT_EQ(code, 2);
    EXPECT_NE(err.find("serves another world"), std::string::npos) << err;
    // Another name is another cluster: the same Redis serves both.
    ClusterNodeProcess other(redis.url(), name + "-b", {"--seed", "7"});
    EXPECT_TRUE(other.is_source()) << other.redis_check();
}

TEST(ClusterJoin, ACleanShutdownOfTheSourceHandsTheLeaseOnAtOnce) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    const auto name = cluster_name();
    // A long lease: only the release, not the expiry, can move the source within the deadline.
    ClusterNodeProcess a(redis.url(), name, {"--lease-ttl", "60s"});
    ClusterNodeProcess b(redis.url(), name, {"--lease-ttl", "60s"});
    ASSERT_TRUE(a.is_source()) << a.redis_check();
    ChannelReader reader(b.port, "ch-1");
    ASSERT_TRUE(reader.read(3));
    a.child->send_signal(SIGTERM);
    ASSERT_TRUE(a.child->wait_exit(10s).has_value());
    EXPECT_TRUE(wait_until([&] { return b.is_source(); }, 10s)) << b.redis_check();
    ASSERT_TRUE(reader.read(5));
    EXPECT_TRUE(reader.breaks().empty()) << reader.breaks().front();
}

TEST(ClusterJoin, ASourceCatchingUpAnOldWorldKeepsItsLease) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    // Half a simulated hour to catch up (~77,000 messages appended) outlasts a 200 ms lease.
    const auto start_ms = engine::wall_now_us() / 1000 - 180'000;
    ClusterNodeProcess node(redis.url(), cluster_name(),
                            {"--lease-ttl", "200ms", "--clock-start", std::to_string(start_ms)});
    const auto err = node.child->err();
    EXPECT_NE(err.find("caught up"), std::string::npos) << err;
    EXPECT_EQ(err.find("the source stops"), std::string::npos) << err;
    EXPECT_EQ(err.find("no longer the source"), std::string::npos) << err;
    EXPECT_TRUE(node.is_source()) << node.redis_check();
}

}  // namespace
}  // namespace streambed::testing
