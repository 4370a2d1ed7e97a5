// hub_ingest_test.cpp: the engine's hooks for a cluster, in process — Hub::ingest stores a
// message framed elsewhere with its own seq and bytes (a repeat is ignored, a jump restarts
// history so resume never crosses it), Hub::continue_after numbers a stream on from a
// checkpoint's seq, and the backend's health — and the redis:// address.
#include <gtest/gtest.h>

#include <string>

#include "cluster/redis_connection.hpp"
#include "engine/hub.hpp"

namespace streambed::engine {
namespace {

constexpr std::int64_t kT0 = 1762732800000;

std::string frame(std::uint64_t seq) {
    return R"({"type":"metrics","channel":"metrics","seq":)" + std::to_string(seq) +
           R"(,"time":1,"data":{}})";
}

TEST(HubIngest, KeepsTheSeqAndTheBytesItIsGiven) {
    Hub hub(1000);
    const auto id = hub.declare_stream(Endpoint::metrics, "metrics");
    auto m = hub.ingest(id, 1, MessageType::metrics, kT0, frame(1));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->seq, 1u);
    EXPECT_EQ(m->bytes, frame(1));
    EXPECT_EQ(m->header.view(), text_frame_header(frame(1).size()).view());
    EXPECT_EQ(hub.published(), 1u);
    auto snapshot = hub.find(Endpoint::metrics, "metrics")->catchup(std::nullopt);
    ASSERT_EQ(snapshot.messages.size(), 1u);
    EXPECT_EQ(snapshot.messages[0]->bytes, frame(1));
}

TEST(HubIngest, IgnoresASeqItAlreadyHas) {
    Hub hub(1000);
    const auto id = hub.declare_stream(Endpoint::metrics, "metrics");
    for (std::uint64_t s = 1; s <= 3; ++s)
        ASSERT_TRUE(hub.ingest(id, s, MessageType::metrics, kT0, frame(s)));
    EXPECT_FALSE(hub.ingest(id, 2, MessageType::metrics, kT0, frame(2)));
    EXPECT_FALSE(hub.ingest(id, 3, MessageType::metrics, kT0, frame(3)));
    EXPECT_EQ(hub.published(), 3u);
    EXPECT_EQ(hub.find(Endpoint::metrics, "metrics")->catchup(1).messages.size(), 2u);
}

TEST(HubIngest, AJumpRestartsHistorySoAResumeNeverCrossesIt) {
    Hub hub(1000);
    const auto id = hub.declare_stream(Endpoint::metrics, "metrics");
    for (std::uint64_t s = 1; s <= 3; ++s) hub.ingest(id, s, MessageType::metrics, kT0, frame(s));
    ASSERT_TRUE(hub.ingest(id, 10, MessageType::metrics, kT0, frame(10)));
    hub.ingest(id, 11, MessageType::metrics, kT0, frame(11));
    auto from_2 = hub.find(Endpoint::metrics, "metrics")->catchup(2);
    EXPECT_TRUE(from_2.reset) << "seqs 4 to 9 were never here";
    auto from_10 = hub.find(Endpoint::metrics, "metrics")->catchup(10);
    EXPECT_FALSE(from_10.reset);
    ASSERT_EQ(from_10.messages.size(), 1u);
    EXPECT_EQ(from_10.messages[0]->seq, 11u);
}

TEST(HubContinue, NumberingContinuesAfterTheGivenSeqOnlyBeforeTheFirstMessage) {
    Hub hub(1000);
    const auto id = hub.declare_stream(Endpoint::metrics, "metrics");
    const auto other = hub.declare_stream(Endpoint::network, "network");
    ASSERT_TRUE(hub.continue_after(id, 41));
    auto m = hub.publish(id, MessageType::metrics, kT0, "{}");
    EXPECT_EQ(m->seq, 42u);
    EXPECT_NE(m->bytes.find(R"("seq":42,)"), std::string::npos) << m->bytes;
    EXPECT_FALSE(hub.continue_after(id, 7)) << "the stream has a message";
    EXPECT_EQ(hub.publish(id, MessageType::metrics, kT0, "{}")->seq, 43u);
    EXPECT_EQ(hub.publish(other, MessageType::network_status, kT0, "{}")->seq, 1u);
    EXPECT_THROW(hub.continue_after(99, 1), std::out_of_range);
}

TEST(BackendHealth, AbsentUntilAttachedThenReportsDownWithTheReason) {
    Hub hub(10);
    EXPECT_FALSE(hub.backend().status());
    EXPECT_FALSE(hub.backend().down());
    hub.backend().attach("redis");
    hub.backend().set(false, "connection refused");
    ASSERT_TRUE(hub.backend().status());
    EXPECT_TRUE(hub.backend().down());
    EXPECT_EQ(hub.backend().status()->reason, "connection refused");
    hub.backend().set(true, "follower");
    EXPECT_FALSE(hub.backend().down());
}

TEST(RedisUrl, ParsesHostPortAndDatabase) {
    std::string error;
    auto a = cluster::parse_redis_url("redis://127.0.0.1:6390/2", error);
    ASSERT_TRUE(a) << error;
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 6390);
    EXPECT_EQ(a->db, 2);
    auto b = cluster::parse_redis_url("redis://localhost", error);
    ASSERT_TRUE(b) << error;
    EXPECT_EQ(b->port, 6379);
    EXPECT_EQ(b->db, 0);
    auto u = cluster::parse_redis_url("unix:///run/redis/redis.sock?db=3", error);
    ASSERT_TRUE(u) << error;
    EXPECT_EQ(u->socket, "/run/redis/redis.sock");
    EXPECT_EQ(u->db, 3);
    EXPECT_EQ(u->text(), "unix:///run/redis/redis.sock?db=3");
    auto v = cluster::parse_redis_url("unix:///tmp/r.sock", error);
    ASSERT_TRUE(v) << error;
    EXPECT_EQ(v->db, 0);
    EXPECT_TRUE(cluster::parse_redis_url("redis://h:1", error)->socket.empty());
    for (const char* bad : {"http://x:1", "redis://:6379", "redis://h:0", "redis://h:99999",
                            "redis://h:1/x", "redis://u:p@h:1", "unix://", "unix://relative.sock",
                            "unix:///tmp/r.sock?db=x", "unix:///tmp/r.sock?dbx=1"}) {
        EXPECT_FALSE(cluster::parse_redis_url(bad, error)) << bad;
        EXPECT_NE(error.find(bad), std::string::npos) << error;
    }
}

}  // namespace
}  // namespace streambed::engine
