// cluster_partition_test.cpp: a node cut off from Redis while Redis itself stays up — the
// scenario runner's redis_partition, with the runner's own impairment proxy between the node and
// Redis, partitioned. The node reports DOWN in /q/health with the reason, refuses upgrades and
// keeps its connections; its peer, reaching Redis directly, stays UP; when the path heals the
// node is UP again and its clients have every seq once: nothing lost, nothing twice.
#include <gtest/gtest.h>

#include "proxy/impairment_proxy.hpp"
#include "tests/cluster/cluster_harness.hpp"

namespace streambed::testing {
namespace {

TEST(ClusterPartition, ANodeCutOffFromRedisReportsDownAndRecoversWithNothingLost) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    proxy::ProxyOptions po;
    po.upstream_port = redis.port();
    proxy::ImpairmentProxy path(po);  // between node `cut` and Redis
    path.start();
    const auto name = cluster_name();
    ClusterNodeProcess cut("redis://127.0.0.1:" + std::to_string(path.port()), name);
    ClusterNodeProcess peer(redis.url(), name);
    std::vector<std::unique_ptr<ChannelReader>> readers;
    for (auto* node : {&cut, &peer})
        readers.push_back(std::make_unique<ChannelReader>(node->port, "ch-1", json::object(), 60s));
    for (auto& r : readers) ASSERT_TRUE(r->read(3));

    path.set_partition(true);
    // A command slower than the node's command timeout (1 s) counts as Redis lost.
    ASSERT_TRUE(wait_until([&] { return http_get(cut.port, "/q/health").status == 503; }, 15s))
        << cut.redis_check();
    const json check = cut.redis_check();
    EXPECT_EQ(check["status"], "DOWN") << check;
    EXPECT_FALSE(check["data"].value("reason", "").empty()) << check;
    EXPECT_EQ(try_upgrade(cut.port, "/ws/channels").status, 503);
    EXPECT_EQ(http_get(peer.port, "/q/health").status, 200) << "the peer reaches Redis";
    EXPECT_TRUE(readers[0]->ping()) << "the cut-off node keeps its connections";
    // The peer's stream goes on meanwhile (it is, or becomes, the source).
    ASSERT_TRUE(readers[1]->read(3, 20s)) << "the peer's clients kept receiving";

    path.set_partition(false);
    ASSERT_TRUE(wait_until([&] { return http_get(cut.port, "/q/health").status == 200; }, 20s))
        << cut.redis_check();
    const auto peer_newest = readers[1]->seqs.back();
    // The cut-off node's clients catch up past what the peer had during the partition.
    ASSERT_TRUE(readers[0]->read_while([&] { return readers[0]->seqs.back() <= peer_newest; }, 20s))
        << "the cut-off node's clients did not catch up";
    for (auto& r : readers) {
        ASSERT_TRUE(r->read(2, 20s));
        EXPECT_TRUE(r->breaks().empty()) << r->breaks().front();
    }
    EXPECT_NO_THROW(ChannelReader(cut.port, "ch-1")) << "upgrades are accepted again";
    const auto stored = redis_seqs(redis, "{" + name + "}:stream:channels:ch-1");
    EXPECT_TRUE(breaks_in(stored).empty()) << breaks_in(stored).front();
}

}  // namespace
}  // namespace streambed::testing
