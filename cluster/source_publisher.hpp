// source_publisher.hpp: the Publisher the lease holder's simulator publishes into. It frames
// each message once (a staging hub of its own assigns the seq and the bytes, as a single server
// would) and appends it to the stream's history in Redis, fenced by the lease. Messages the
// cluster already holds (n up to `skip`: a successor regenerating the world) are framed only.
// Appends are pipelined by a writer thread: a tick's burst costs one round trip, not one each.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/checkpoint.hpp"
#include "cluster/cluster_options.hpp"
#include "cluster/redis_connection.hpp"
#include "engine/hub.hpp"

namespace streambed::cluster {

class SourcePublisher final : public engine::Publisher {
  public:
    // `from`: the checkpoint the world continues from (its n and seqs), or null: the epoch.
    SourcePublisher(const ClusterOptions& options, std::uint64_t skip,
                    std::unique_ptr<RedisConnection> redis, const Checkpoint* from = nullptr);
    // Appends what is queued (unless failed), then ends the writer.
    ~SourcePublisher() override;

    engine::StreamId declare_stream(engine::Endpoint endpoint, std::string_view channel) override;
    // The source's thread: frames and queues. After a failure every message is framed and
    // dropped: the successor (this node again, or another) regenerates them from the head.
    engine::MessagePtr publish(engine::StreamId stream, engine::MessageType type,
                               std::int64_t time_ms, std::string_view data_json) override;
    void set_clock(const engine::ClockAnchor& clock) override { staging_.set_clock(clock); }
    // Messages waiting for Redis: a catching-up source waits while there are many.
    engine::Backlog backlog() const override;
    // The source's thread, between two messages: queues the world's checkpoint at the mark,
    // kept in Redis once every message before it is (fenced like an append).
    void save_checkpoint(std::int64_t mark_ms, std::string world);

    // The lease was lost or Redis failed: the node must stop this source (any thread).
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    std::string failure() const;
    std::uint64_t appended() const { return appended_.load(std::memory_order_relaxed); }
    std::uint64_t checkpoints_kept() const { return kept_.load(std::memory_order_relaxed); }

  private:
    struct Pending {
        std::uint64_t n;
        engine::StreamId stream;
        engine::MessagePtr message;  // null: a checkpoint
        std::string checkpoint;
    };
    void write_loop();
    void fail(std::string why);

    const ClusterOptions& options_;
    const ClusterKeys keys_;
    const std::uint64_t skip_;
    const std::string maxlen_;
    const std::string feed_;                  // the followers' Pub/Sub channel
    std::unique_ptr<RedisConnection> redis_;  // the writer's thread
    engine::Hub staging_{1};                  // frames and numbers; keeps one message per stream
    std::vector<std::string> stream_keys_;    // by StreamId; complete before the first publish
    std::vector<std::uint64_t> last_seqs_;    // by StreamId: the newest seq framed
    std::optional<std::map<std::string, std::uint64_t>> from_seqs_;  // continued from a checkpoint
    std::uint64_t n_ = 0;  // messages the world has published since its epoch
    std::atomic<std::uint64_t> appended_{0}, kept_{0};
    std::atomic<bool> failed_{false};

    mutable std::mutex mu_;  // the queue, stopping_, failure_
    std::condition_variable cv_;
    std::deque<Pending> queue_;
    bool stopping_ = false;
    std::string failure_;
    std::thread writer_;
};

}  // namespace streambed::cluster
