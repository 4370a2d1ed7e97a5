// follower.hpp: every node's reader of the cluster's streams in Redis. It loads each stream's
// history when the node starts, then follows new messages (XREAD BLOCK) on a thread of its own
// and ingests them into the local hub with their seq and bytes; when Redis is lost it reports
// DOWN, reconnects with backoff and continues from the last message it read of each stream.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cluster/cluster_options.hpp"
#include "cluster/redis_connection.hpp"
#include "engine/hub.hpp"

namespace streambed::cluster {

class Follower {
  public:
    // Called on the follower's thread when Redis is lost (false, why) or back (true, "").
    using Report = std::function<void(bool up, const std::string& reason)>;

    // Follows every stream declared on `hub` now.
    Follower(const ClusterOptions& options, engine::Hub& hub, Report report);
    ~Follower();

    // The caller's thread, before start(): reads what Redis holds of every stream, so a node
    // started late serves the same history as the others. False, and `error`, on a failure.
    bool load(RedisConnection& redis, std::string& error);
    void start();
    void stop();

    // The highest n ingested: where a successor's world may resume if Redis lost its head.
    std::uint64_t newest_n() const { return newest_n_.load(std::memory_order_acquire); }
    std::uint64_t ingested() const { return ingested_.load(std::memory_order_relaxed); }

  private:
    struct Followed {
        std::string key;
        engine::StreamId stream;
        std::string last_id = "0-0";  // of the newest entry read
    };
    void run();
    // One XREAD; true when it read something. False, and `error`, on a transport failure.
    bool read_once(RedisConnection& redis, std::chrono::milliseconds block, bool& got,
                   std::string& error);
    bool wait(std::chrono::milliseconds d);  // false when stopping

    const ClusterOptions& options_;
    engine::Hub& hub_;
    Report report_;
    std::vector<Followed> followed_;  // the follower's thread (the caller's before start())
    std::unordered_map<std::string, std::size_t> by_key_;
    std::atomic<std::uint64_t> newest_n_{0};
    std::atomic<std::uint64_t> ingested_{0};

    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace streambed::cluster
