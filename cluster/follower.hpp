// follower.hpp: every node's reader of the cluster's streams in Redis. It loads each stream's
// history when the node starts, then follows new messages (XREAD BLOCK) and ingests them into
// the local hub with their seq and bytes. The reads run on the hub's ingest context — an I/O
// thread of the node, so a message read reaches that thread's subscribers without another
// thread's wake-up (FollowLoop) — or, with no I/O thread, on the follower's own. The follower's
// thread only connects: when Redis is lost it reports DOWN, reconnects with backoff and the
// reads continue from the last message read of each stream.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cluster/cluster_options.hpp"
#include "cluster/follow_loop.hpp"
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
    // Follows on `redis` until it fails (why) or the follower stops ("").
    std::string follow(std::unique_ptr<RedisConnection> redis);
    // XREAD over every stream from the last entry read (BLOCK `block`, when not negative).
    std::vector<std::string> xread(std::chrono::milliseconds block) const;
    // Ingests an XREAD's reply; true when it brought an entry.
    bool take(const redisReply& reply);
    bool wait(std::chrono::milliseconds d);  // false when stopping

    const ClusterOptions& options_;
    engine::Hub& hub_;
    Report report_;
    // The caller's thread before start(), then the reads' (one at a time, handed over by post).
    std::vector<Followed> followed_;
    std::unordered_map<std::string, std::size_t> by_key_;
    std::atomic<std::uint64_t> newest_n_{0};
    std::atomic<std::uint64_t> ingested_{0};

    // Where the reads run: the hub's ingest context, or own_ run by the follower's thread.
    std::unique_ptr<boost::asio::io_context> own_;
    boost::asio::io_context* ioc_;

    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::shared_ptr<FollowLoop> loop_;  // while one runs
    bool loop_ended_ = false;
    std::string loop_error_;
    std::thread thread_;
};

}  // namespace streambed::cluster
