// cluster_node.hpp: what `serve --redis` runs instead of a bare simulator — a Source that joins
// the cluster's world in Redis, fills the local hub from Redis (Follower), and runs the
// simulator (SourceRunner) while it holds the source lease. Every other node serves what it
// reads back from Redis, the source what it frames (its follower paused), so the same seq has
// the same bytes on every node.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "cluster/cluster_options.hpp"
#include "engine/source.hpp"
#include "simulator/config.hpp"

namespace streambed::engine {
class Hub;
}

namespace streambed::cluster {

class Follower;
class SourceRunner;

// A node cannot join: Redis unreachable at start, another world in the cluster, a bad address.
struct ClusterError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class ClusterNode final : public engine::Source {
  public:
    // `world`: this node's simulator configuration; every node of a cluster must have the same.
    ClusterNode(ClusterOptions options, simulator::SimConfig world);
    ~ClusterNode() override;

    // `publisher` must be the server's engine::Hub. Joins the world (throws ClusterError), loads
    // every stream's history, and becomes the source if the lease is free — before it returns.
    void start(engine::Publisher& publisher) override;
    // Stops the source, releases the lease (a successor takes over at once) and the follower.
    void stop() override;

    bool is_source() const { return source_.load(); }
    const std::string& node() const { return options_.node; }

  private:
    void join_world(RedisConnection& redis);
    void lease_loop(std::unique_ptr<RedisConnection> redis);
    // One lease round: take or renew the lease, start or stop the source. False, and `error`,
    // when Redis failed.
    bool lease_round(RedisConnection& redis, std::string& error);
    void demote(const std::string& why);
    void report(bool follower, bool up, const std::string& reason);
    bool wait(std::chrono::milliseconds d);

    ClusterOptions options_;
    simulator::SimConfig world_;  // with the cluster's clock start once joined
    std::string world_json_;      // the {cluster}:world value, restored if Redis lost it
    engine::Hub* hub_ = nullptr;
    std::unique_ptr<Follower> follower_;
    std::unique_ptr<SourceRunner> runner_;
    std::atomic<bool> source_{false};

    std::mutex mu_;  // guards the health parts and stopping_
    std::condition_variable cv_;
    bool stopping_ = false;
    std::string follower_down_, lease_down_;  // empty: up
    std::thread lease_thread_;
};

}  // namespace streambed::cluster
