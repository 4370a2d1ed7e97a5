// scenario_cluster_test.cpp: the `cluster` section of a scenario file, a group's `node`, and the
// cluster's timeline events and metrics — what parses into the model, and each mistake named by
// its path (unknown field, wrong type, out of range, an event of a cluster without one, a node
// killed while it is down, every node down at the end).
#include <gtest/gtest.h>

#include "runner/scenario_parse.hpp"
#include "tests/runner/scenario_text.hpp"

namespace streambed::runner {
namespace {

using namespace std::chrono_literals;

std::string cluster(const std::string& timeline = "", const std::string& group = "",
                    const std::string& more = "") {
    std::string extra = R"("cluster": {"nodes": 3})";
    if (!timeline.empty()) extra += R"(, "timeline": [)" + timeline + "]";
    if (!more.empty()) extra += ", " + more;
    return minimal(extra, group);
}

TEST(ScenarioCluster, TheSectionAndItsEventsParseIntoTheModel) {
    const auto s = parse_ok(cluster(
        R"({"at": "5s", "event": "node_kill", "node": 1, "down_for": "2s"},
           {"at": "10s", "event": "node_kill", "node": "source"},
           {"at": "12s", "event": "node_restart", "node": 2},
           {"at": "20s", "event": "redis_partition", "node": 0, "for": "3s"},
           {"at": "30s", "event": "redis_kill", "down_for": "1s"})",
        R"("node": 2)", R"("expect": [{"failover_max": "< 2s", "nodes_down_seen": ">= 1"}])"));
    ASSERT_TRUE(s.cluster);
    EXPECT_EQ(s.cluster->nodes, 3u);
    EXPECT_EQ(s.cluster->lease_ttl, 1000ms);
    EXPECT_EQ(s.cluster->checkpoint_every, 60'000ms) << "serve's default";
    EXPECT_EQ(s.groups[0].node, 2);
    ASSERT_EQ(s.timeline.size(), 5u);
    EXPECT_EQ(s.timeline[0].kind, Event::Kind::node_kill);
    EXPECT_EQ(s.timeline[0].node, 1);
    EXPECT_FALSE(s.timeline[0].stays_down);
    EXPECT_EQ(s.timeline[0].down_for, 2000ms);
    EXPECT_EQ(s.timeline[1].node, Event::kNodeSource);
    EXPECT_TRUE(s.timeline[1].stays_down) << "a kill without down_for: down to the end";
    EXPECT_EQ(s.timeline[2].kind, Event::Kind::node_restart);
    EXPECT_EQ(s.timeline[3].kind, Event::Kind::redis_partition);
    EXPECT_EQ(s.timeline[3].duration, 3000ms);
    EXPECT_EQ(s.timeline[4].kind, Event::Kind::redis_kill);
    EXPECT_EQ(s.expectations.size(), 2u);

    const auto plain =
        parse_ok(minimal(R"("cluster": {"lease_ttl": "500ms", "checkpoint_every": "5s"})"));
    EXPECT_EQ(plain.cluster->nodes, 3u) << "the default";
    EXPECT_EQ(plain.cluster->lease_ttl, 500ms);
    EXPECT_EQ(plain.cluster->checkpoint_every, 5000ms);
    EXPECT_EQ(plain.groups[0].node, -1) << "round-robin";
    EXPECT_FALSE(parse_ok(minimal()).cluster) << "one server without the section";
}

TEST(ScenarioCluster, TheSectionIsCheckedFieldByField) {
    expect_error(minimal(R"("cluster": {"node": 3})"),
                 "cluster.node: unknown field (did you mean 'nodes'?)");
    expect_error(minimal(R"("cluster": {"nodes": "3"})"),
                 "cluster.nodes: expected an integer between 1 and 16, not \"3\"");
    expect_error(minimal(R"("cluster": {"nodes": 0})"),
                 "cluster.nodes: must be between 1 and 16, not 0");
    expect_error(minimal(R"("cluster": {"nodes": 17})"),
                 "cluster.nodes: must be between 1 and 16, not 17");
    expect_error(minimal(R"("cluster": {"lease_ttl": "10ms"})"), "cluster.lease_ttl:");
    expect_error(minimal(R"("cluster": {"lease_ttl": 1})"), "cluster.lease_ttl:");
    expect_error(minimal(R"("cluster": {"checkpoint_every": "500ms"})"),
                 "cluster.checkpoint_every:");
    expect_error(minimal(R"("cluster": {"checkpoint_every": "25h"})"), "cluster.checkpoint_every:");
    expect_error(minimal(R"("cluster": true)"), "cluster:");
    expect_error(minimal(R"("cluster": {"redis": true})"), "cluster.redis: unknown field");
}

TEST(ScenarioCluster, AGroupsNodeIsAnIndexOfTheCluster) {
    expect_error(cluster("", R"("node": 3)"), "groups[0].node: must be between 0 and 2, not 3");
    expect_error(cluster("", R"("node": "source")"), "groups[0].node: expected an integer");
    expect_error(minimal("", R"("node": 0)"), "groups[0].node: only with a 'cluster' section");
}

TEST(ScenarioCluster, ClusterEventsNameTheirNodeAndNeedACluster) {
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "node_kill", "node": 0}])"),
                 "timeline[0].event: a 'node_kill' event needs a 'cluster' section");
    expect_error(minimal(R"("timeline": [{"at": "1s", "event": "redis_kill"}])"),
                 "timeline[0].event: a 'redis_kill' event needs a 'cluster' section");
    expect_error(cluster(R"({"at": "1s", "event": "server_kill"})"),
                 "timeline[0].event: a cluster has no single server to stop");
    expect_error(cluster(R"({"at": "1s", "event": "node_kill"})"),
                 "timeline[0].node: missing (a required field)");
    expect_error(cluster(R"({"at": "1s", "event": "node_kill", "node": 5})"),
                 "timeline[0].node: must be between 0 and 2, not 5");
    expect_error(cluster(R"({"at": "1s", "event": "node_kill", "node": "leader"})"),
                 "timeline[0].node: expected a node index from 0 to 2 or \"source\"");
    expect_error(cluster(R"({"at": "1s", "event": "node_kill", "node": 1.5})"),
                 "timeline[0].node: expected a node index from 0 to 2 or \"source\"");
    expect_error(cluster(R"({"at": "1s", "event": "redis_partition", "node": 0})"),
                 "timeline[0].for: missing");
    expect_error(cluster(R"({"at": "1s", "event": "redis_kill", "node": 0})"),
                 "timeline[0].node: not a field of a 'redis_kill' event (it takes: at, event, "
                 "down_for)");
    expect_error(cluster(R"({"at": "1s", "event": "node_restart", "node": 0, "for": "1s"})"),
                 "timeline[0].for: not a field of a 'node_restart' event");
    expect_error(cluster(R"({"at": "50s", "event": "redis_partition", "node": 0, "for": "20s"})"),
                 "timeline[0]: ends at 70s, past the scenario's duration of 60s");
}

TEST(ScenarioCluster, EventsAreCheckedAgainstEachOther) {
    expect_error(cluster(R"({"at": "1s", "event": "node_kill", "node": 1},
                            {"at": "5s", "event": "node_restart", "node": 1})"),
                 "timeline[1]: at 5s, while node 1 is down (timeline[0] keeps it down to the end "
                 "of the run)");
    expect_error(cluster(R"({"at": "1s", "event": "node_kill", "node": 1, "down_for": "10s"},
                            {"at": "5s", "event": "node_kill", "node": 1})"),
                 "timeline[1]: at 5s, while node 1 is down (timeline[0] keeps it down until 11s)");
    parse_ok(cluster(R"({"at": "1s", "event": "node_kill", "node": 1, "down_for": "4s"},
                        {"at": "5s", "event": "node_kill", "node": 1})"));
    expect_error(cluster(R"({"at": "1s", "event": "redis_kill", "down_for": "10s"},
                            {"at": "5s", "event": "redis_kill"})"),
                 "timeline[1]: at 5s, while Redis is down (timeline[0] keeps it down until 11s)");
    expect_error(cluster(R"({"at": "1s", "event": "redis_kill", "down_for": "10s"},
                            {"at": "2s", "event": "node_restart", "node": 0, "down_for": "1s"})"),
                 "timeline[1]: node 0 starts again at 3s, while Redis is down (timeline[0])");
    expect_error(cluster(R"({"at": "2s", "event": "node_kill", "node": 0, "down_for": "2s"},
                            {"at": "3s", "event": "redis_kill", "down_for": "10s"})"),
                 "timeline[0]: node 0 starts again at 4s, while Redis is down (timeline[1])");
    expect_error(
        cluster(R"({"at": "1s", "event": "redis_partition", "node": 2, "for": "10s"},
                   {"at": "5s", "event": "redis_partition", "node": 2, "for": "1s"})"),
        "timeline[1]: at 5s, while node 2 is already cut off from Redis (timeline[0], until 11s)");
    expect_error(cluster(R"({"at": "1s", "event": "node_kill", "node": 0},
                            {"at": "2s", "event": "node_kill", "node": 1},
                            {"at": "3s", "event": "node_kill", "node": 2})"),
                 "timeline: every node of the cluster is down at the end of the run");
    // "source" is resolved by the run: only the run knows which node that is.
    parse_ok(cluster(R"({"at": "1s", "event": "node_kill", "node": "source"},
                        {"at": "2s", "event": "node_kill", "node": "source"})"));
}

TEST(ScenarioCluster, ClusterMetricsNeedACluster) {
    expect_error(minimal(R"("expect": [{"failover_max": "< 2s"}])"),
                 "expect[0].failover_max: measured on a cluster's nodes: only with a 'cluster' "
                 "section");
    expect_error(minimal(R"("expect": [{"nodes_down_seen": "== 3"}])"),
                 "expect[0].nodes_down_seen: measured on a cluster's nodes");
    expect_error(cluster("", "", R"("expect": [{"group": "g", "failover_max": "< 2s"}])"),
                 "expect[0].failover_max: a figure of the whole run: not with 'group'");
    expect_error(cluster("", "", R"("expect": [{"failover_max": "< 2"}])"),
                 "expect[0].failover_max:");
}

}  // namespace
}  // namespace streambed::runner
