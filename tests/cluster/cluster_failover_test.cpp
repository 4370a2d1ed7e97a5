// cluster_failover_test.cpp: the cluster survives its failures, with real processes — the source
// node killed with SIGKILL (another node takes the lease and continues the world: no gap, no
// repeated seq), and Redis killed and started again empty (nodes report DOWN with the reason,
// refuse upgrades with 503 and Retry-After, keep their connections, and recover with nothing
// lost or repeated).
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/cluster/cluster_harness.hpp"

namespace streambed::testing {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST(ClusterFailover, KillingTheSourceNodeMovesTheSourceWithoutAGapOrARepeat) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    const auto name = cluster_name();
    std::vector<std::unique_ptr<ClusterNodeProcess>> nodes;
    for (int i = 0; i < 3; ++i)
        nodes.push_back(std::make_unique<ClusterNodeProcess>(redis.url(), name));
    std::size_t source = nodes.size();
    ASSERT_TRUE(wait_until(
        [&] {
            for (std::size_t i = 0; i < nodes.size(); ++i)
                if (nodes[i]->is_source()) source = i;
            return source < nodes.size();
        },
        10s));
    std::vector<std::unique_ptr<ChannelReader>> readers;  // on the two other nodes
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (i != source) readers.push_back(std::make_unique<ChannelReader>(nodes[i]->port, "ch-1"));
    for (auto& r : readers) ASSERT_TRUE(r->read(3));

    const auto killed = std::chrono::steady_clock::now();
    nodes[source]->child->send_signal(SIGKILL);
    ASSERT_TRUE(nodes[source]->child->wait_exit(10s).has_value());
    std::vector<std::size_t> before;
    for (auto& r : readers) before.push_back(r->seqs.size());
    // ch-1 updates every 200 ms: a second's worth must arrive after the kill.
    for (auto& r : readers) ASSERT_TRUE(r->read(5, 20s)) << "the stream did not resume";
    double resumed_s = 0;
    for (std::size_t k = 0; k < readers.size(); ++k) {
        EXPECT_TRUE(readers[k]->breaks().empty()) << readers[k]->breaks().front();
        resumed_s = std::max(
            resumed_s,
            std::chrono::duration<double>(readers[k]->arrived[before[k]] - killed).count());
    }
    std::printf("[ measure  ] the first message after the source's death arrived after %.2f s\n",
                resumed_s);
    EXPECT_LT(resumed_s, 5.0);
    int sources = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (i != source && nodes[i]->is_source()) ++sources;
    EXPECT_EQ(sources, 1) << "one of the other nodes is the source now";
    // Redis itself holds every seq once: the successor appended only what was missing.
    const auto stored = redis_seqs(redis, "{" + name + "}:stream:channels:ch-1");
    EXPECT_GE(stored.size(), readers[0]->seqs.size());
    EXPECT_TRUE(breaks_in(stored).empty()) << breaks_in(stored).front();
}

TEST(ClusterFailover, LosingRedisReportsDownKeepsConnectionsAndRecoversWithNothingLost) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    const auto name = cluster_name();
    ClusterNodeProcess a(redis.url(), name), b(redis.url(), name);
    std::vector<std::unique_ptr<ChannelReader>> readers;
    for (auto* node : {&a, &b})
        readers.push_back(std::make_unique<ChannelReader>(node->port, "ch-1", json::object(), 60s));
    for (auto& r : readers) ASSERT_TRUE(r->read(3));

    redis.kill();
    for (auto* node : {&a, &b}) {
        ASSERT_TRUE(
            wait_until([&] { return http_get(node->port, "/q/health").status == 503; }, 10s));
        const json check = node->redis_check();
        EXPECT_EQ(check["status"], "DOWN") << check;
        EXPECT_FALSE(check["data"].value("reason", "").empty()) << check;
        const auto refused = try_upgrade(node->port, "/ws/channels");
        EXPECT_EQ(refused.status, 503) << refused.body;
        EXPECT_EQ(refused.headers.count("retry-after"), 1u);
        EXPECT_NE(refused.body.find("unavailable"), std::string::npos) << refused.body;
        EXPECT_EQ(http_get(node->port, "/q/health/live").status, 200) << "down, not dead";
        EXPECT_EQ(http_get(node->port, "/api/v11/poll/channels?channels=ch-1").status, 200)
            << "polling answers from the node's own history";
    }
    // The connections stay open and answer.
    for (auto& r : readers) {
        EXPECT_TRUE(r->ping()) << "an open connection answers while Redis is away";
        EXPECT_FALSE(r->ws.closed());
    }

    const auto restarted = std::chrono::steady_clock::now();
    redis.start();
    ASSERT_TRUE(redis.running());
    for (auto* node : {&a, &b})
        ASSERT_TRUE(
            wait_until([&] { return http_get(node->port, "/q/health").status == 200; }, 20s))
            << node->redis_check();
    std::printf("[ measure  ] both nodes UP %.2f s after Redis came back\n",
                seconds_since(restarted));
    for (auto& r : readers) {
        ASSERT_TRUE(r->read(8, 20s)) << "the stream did not resume";
        EXPECT_TRUE(r->breaks().empty()) << r->breaks().front();
    }
    EXPECT_NO_THROW(ChannelReader(a.port, "ch-1")) << "upgrades are accepted again";
    // Redis came back empty: what it holds now starts after the outage and repeats nothing.
    const auto stored = redis_seqs(redis, "{" + name + "}:stream:channels:ch-1");
    ASSERT_FALSE(stored.empty());
    EXPECT_GT(stored.front(), readers[0]->seqs.front());
    EXPECT_TRUE(breaks_in(stored).empty()) << breaks_in(stored).front();
}

}  // namespace
}  // namespace streambed::testing
