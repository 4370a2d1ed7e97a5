// cluster_streams_test.cpp: three `serve --redis` nodes and a real redis-server serve one world —
// the same seq carries the same bytes on every node, over WebSocket and polling, a node started
// late loads the history the others hold, and a client resumes with `since` on another node
// than the one it left without a gap; a node may reach Redis through its Unix-domain socket.
#include <gtest/gtest.h>

#include <map>

#include "tests/cluster/cluster_harness.hpp"

namespace streambed::testing {
namespace {

// /api/v11/poll/channels for ch-1 from its first seq: the message array as the node sent it.
json poll_from_start(std::uint16_t port) {
    const auto r = http_get(port, "/api/v11/poll/channels?channels=ch-1&since=ch-1:0");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.body_json() : json::object();
}

std::uint64_t newest_seq(std::uint16_t port) {
    const auto r = http_get(port, "/api/v11/poll/channels?channels=ch-1");
    return r.status == 200 ? r.body_json()["next"].value("ch-1", std::uint64_t{0}) : 0;
}

TEST(Cluster, ThreeNodesServeTheSameBytesForTheSameSeq) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    const auto name = cluster_name();
    ClusterNodeProcess a(redis.url(), name), b(redis.url(), name);
    ASSERT_TRUE(a.is_source() != b.is_source())
        << "exactly one source: " << a.redis_check() << b.redis_check();
    // The third node joins once the world has a history: it loads it from Redis.
    ASSERT_TRUE(wait_until([&] { return newest_seq(a.port) >= 10; }, 20s));
    ClusterNodeProcess c(redis.url(), name);
    EXPECT_FALSE(c.is_source());

    // WebSocket: every node's frames of ch-1, compared seq by seq.
    std::vector<std::unique_ptr<ChannelReader>> readers;
    for (auto* node : {&a, &b, &c})
        readers.push_back(std::make_unique<ChannelReader>(node->port, "ch-1"));
    for (auto& r : readers) ASSERT_TRUE(r->read(8)) << "frames read: " << r->seqs.size();
    std::map<std::uint64_t, std::string> first;
    std::size_t compared = 0;
    for (auto& r : readers) {
        EXPECT_EQ(r->welcome["epoch"], readers[0]->welcome["epoch"]);
        EXPECT_EQ(r->welcome["clock"]["scale"], readers[0]->welcome["clock"]["scale"]);
        EXPECT_TRUE(r->breaks().empty()) << r->breaks().front();
        for (std::size_t i = 0; i < r->seqs.size(); ++i) {
            auto [it, added] = first.emplace(r->seqs[i], r->bytes[i]);
            if (!added) {
                EXPECT_EQ(it->second, r->bytes[i]) << "seq " << r->seqs[i];
                ++compared;
            }
        }
    }
    EXPECT_GE(compared, 8u) << "the nodes' frames must overlap";

    // Polling: the history from seq 1 is the same everywhere, the late node's included.
    ASSERT_TRUE(wait_until([&] { return newest_seq(c.port) >= readers[0]->seqs.back(); }, 10s));
    const json pa = poll_from_start(a.port), pb = poll_from_start(b.port),
               pc = poll_from_start(c.port);
    ASSERT_TRUE(pa.contains("messages") && pb.contains("messages") && pc.contains("messages"));
    EXPECT_EQ(pa["epoch"], pc["epoch"]);
    for (const json* other : {&pb, &pc}) {
        const auto& mine = pa["messages"];
        const auto& theirs = (*other)["messages"];
        const std::size_t common = std::min(mine.size(), theirs.size());
        ASSERT_GE(common, 10u);
        EXPECT_EQ(theirs[0]["seq"], 1) << "the history starts at the world's first message";
        for (std::size_t i = 0; i < common; ++i) EXPECT_EQ(mine[i], theirs[i]) << "message " << i;
    }
}

TEST(Cluster, AClientResumesOnAnotherNodeWithoutAGap) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    const auto name = cluster_name();
    ClusterNodeProcess a(redis.url(), name), b(redis.url(), name);
    std::uint64_t left_at = 0;
    std::string epoch;
    {
        ChannelReader on_a(a.port, "ch-1");
        ASSERT_TRUE(on_a.read(4));
        left_at = on_a.seqs.back();
        epoch = on_a.welcome["epoch"];
    }
    // Away while several messages are published; then back, on the other node.
    ASSERT_TRUE(wait_until([&] { return newest_seq(b.port) >= left_at + 5; }, 20s));
    ChannelReader on_b(b.port, "ch-1", {{"since", {{"ch-1", left_at}}}, {"epoch", epoch}});
    EXPECT_EQ(on_b.welcome["epoch"], epoch);
    EXPECT_EQ(on_b.subscribed["recovered"]["ch-1"], true) << on_b.subscribed;
    ASSERT_TRUE(on_b.read(8));
    EXPECT_EQ(on_b.seqs.front(), left_at + 1) << "the first message after the one it had";
    EXPECT_TRUE(on_b.breaks().empty()) << on_b.breaks().front();
}

TEST(Cluster, ANodeOnRedisUnixSocketAndOneOnTcpServeOneStream) {
    SKIP_WITHOUT_REDIS();
    RedisServer redis;
    const auto name = cluster_name();
    ClusterNodeProcess local(redis.unix_url(), name), remote(redis.url(), name);
    EXPECT_TRUE(local.is_source() != remote.is_source());
    EXPECT_EQ(local.redis_check()["status"], "UP") << local.redis_check();
    ChannelReader on_local(local.port, "ch-1"), on_remote(remote.port, "ch-1");
    ASSERT_TRUE(on_local.read(4));
    ASSERT_TRUE(wait_until([&] { return newest_seq(remote.port) >= on_local.seqs.back(); }, 10s));
    ASSERT_TRUE(on_remote.read(2));
    ASSERT_TRUE(on_local.read(2));  // past what the remote node had when it began
    std::map<std::uint64_t, std::string> local_bytes;
    for (std::size_t i = 0; i < on_local.seqs.size(); ++i)
        local_bytes[on_local.seqs[i]] = on_local.bytes[i];
    std::size_t compared = 0;
    for (std::size_t i = 0; i < on_remote.seqs.size(); ++i) {
        const auto it = local_bytes.find(on_remote.seqs[i]);
        if (it == local_bytes.end()) continue;
        EXPECT_EQ(it->second, on_remote.bytes[i]) << "seq " << on_remote.seqs[i];
        ++compared;
    }
    EXPECT_GE(compared, 1u) << "the two nodes' frames must overlap";
    EXPECT_TRUE(on_local.breaks().empty() && on_remote.breaks().empty());
}

}  // namespace
}  // namespace streambed::testing
