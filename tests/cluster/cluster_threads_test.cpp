// cluster_threads_test.cpp: two cluster nodes in one process (ClusterThreads), on a real
// redis-server — so that the sanitizers see every thread of a node at work together: the lease
// rounds, the source runner catching up, the simulator, the publisher's writer, the follower and
// the checkpoints, while the test reads the hubs. The first node's clean stop hands the source
// to the second, which continues from a checkpoint: its history of ch-1 has no gap, and the
// seqs both nodes hold carry the same bytes. The real program's failures (SIGKILL, Redis lost)
// are tested with processes in cluster_failover_test.cpp.
#include <gtest/gtest.h>

#include <map>

#include "cluster/cluster_node.hpp"
#include "engine/hub.hpp"
#include "tests/cluster/cluster_harness.hpp"

namespace streambed::testing {
namespace {

cluster::ClusterOptions node_options(const RedisServer& redis, const std::string& node) {
    cluster::ClusterOptions o;
    std::string error;
    o.redis = *cluster::parse_redis_url(redis.url(), error);
    o.name = cluster_name();
    o.node = node;
    o.lease_ttl = std::chrono::milliseconds(300);
    o.checkpoint_every = std::chrono::seconds(2);  // 40 ms of wall time at time scale 50
    return o;
}

// Every message of ch-1 the hub still holds, seq -> bytes.
std::map<std::uint64_t, std::string> history_of_ch1(const engine::Hub& hub) {
    std::map<std::uint64_t, std::string> out;
    const auto* ch1 = hub.find(engine::Endpoint::channels, "ch-1");
    const auto last = ch1->last_seq();
    const auto held = ch1->catchup(last > 500 ? last - 500 : 0);
    for (const auto& m : held.messages) out[m->seq] = m->bytes;
    return out;
}

TEST(ClusterThreads, TwoNodesInOneProcessHandTheSourceOverWithoutAGap) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    simulator::SimConfig world;
    world.time_scale = 50;  // ch-1 updates every 40 ms
    engine::Hub hub_a(1000), hub_b(1000);
    auto a = std::make_unique<cluster::ClusterNode>(node_options(redis, "a"), world);
    a->start(hub_a);
    ASSERT_TRUE(a->is_source());
    cluster::ClusterNode b(node_options(redis, "b"), world);
    b.start(hub_b);
    EXPECT_FALSE(b.is_source());

    const auto* ch1 = hub_b.find(engine::Endpoint::channels, "ch-1");
    ASSERT_TRUE(wait_until([&] { return ch1->last_seq() >= 60; }, 20s)) << ch1->last_seq();
    a->stop();  // releases the lease: b takes it at its next round
    ASSERT_TRUE(wait_until([&] { return b.is_source(); }, 10s));
    const auto handed_at = ch1->last_seq();
    ASSERT_TRUE(wait_until([&] { return ch1->last_seq() >= handed_at + 40; }, 20s));
    b.stop();

    const auto by_a = history_of_ch1(hub_a), by_b = history_of_ch1(hub_b);
    ASSERT_FALSE(by_b.empty());
    EXPECT_EQ(by_b.rbegin()->first - by_b.begin()->first + 1, by_b.size())
        << "a gap in b's history";
    std::size_t both = 0;
    for (const auto& [seq, bytes] : by_a)
        if (auto it = by_b.find(seq); it != by_b.end()) {
            EXPECT_EQ(bytes, it->second) << "seq " << seq;
            ++both;
        }
    EXPECT_GE(both, 50u);
    EXPECT_GT(by_b.rbegin()->first, by_a.rbegin()->first) << "b went on after a stopped";
}

}  // namespace
}  // namespace streambed::testing
