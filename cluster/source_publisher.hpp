// source_publisher.hpp: the Publisher the lease holder's simulator publishes into. It frames
// each message once (a staging hub of its own assigns the seq and the bytes, as a single server
// would) and appends it to the stream's history in Redis, fenced by the lease. Messages the
// cluster already holds (n up to `skip`: a successor regenerating the world) are framed only.
// The appends leave from the simulator's own thread without waiting: the messages of an event
// (or of a few, gathered) are written to a non-blocking connection as one call of the loaded
// script (EVALSHA), and Redis's replies are read when they have come, between events. No thread
// is woken per message and none waits.
// On a node the publisher also serves each message it appends into the node's own hub, on the
// simulator's thread before it is written to Redis, as a single node publishes: the node's
// follower is paused meanwhile, so the source node does not read its own messages back.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/checkpoint.hpp"
#include "cluster/cluster_options.hpp"
#include "cluster/redis_connection.hpp"
#include "engine/coalescer.hpp"
#include "engine/hub.hpp"

namespace streambed::cluster {

class Follower;

class SourcePublisher final : public engine::Publisher {
  public:
    // A catching-up source publishes without going idle: its appends leave this many at a
    // time (~200 bytes each), so a write is large and Redis's first reply comes early.
    static constexpr std::size_t kHoldAtMost = 64;
    // `from`: the checkpoint the world continues from (its n and seqs), or null: the epoch.
    // `serve`: the node's follower, paused, which takes each message into the node's hub.
    // Loads the scripts on `redis` (a failure fails the publisher, saying why).
    SourcePublisher(const ClusterOptions& options, std::uint64_t skip,
                    std::unique_ptr<RedisConnection> redis, const Checkpoint* from = nullptr,
                    Follower* serve = nullptr);
    // Waits up to the command timeout for what was written to be answered (unless failed).
    ~SourcePublisher() override;

    engine::StreamId declare_stream(engine::Endpoint endpoint, std::string_view channel) override;
    // The source's thread: frames and appends, held until the source goes idle (the messages
    // of one event leave in one write, with no wait added) or kHoldAtMost are; then writes
    // them and reads the replies that came. After a failure every message is framed and dropped:
    // the successor (this node again, or another) regenerates them from the head.
    engine::MessagePtr publish(engine::StreamId stream, engine::MessageType type,
                               std::int64_t time_ms, std::string_view data_json) override;
    void set_clock(const engine::ClockAnchor& clock) override { staging_.set_clock(clock); }
    // The source's thread: appends not yet answered (a catching-up source waits while there are
    // many). Writes what the socket did not take and reads the replies that came first.
    engine::Backlog backlog() const override;
    // Under a steady rate of at least one event per kGather (judged, as the engine's shards
    // judge theirs, by the previous period: engine/coalescer.hpp), an event's appends wait for
    // the next event's when that is due before the oldest of them has waited kGather (and none
    // waits longer, however far behind its schedule the source runs), and leave with them in one
    // write: one wake-up of Redis instead of several. At the spec's cadences
    // (events tens of ms apart) every event's appends leave at once. kGather is the shards' own
    // coalescing window, what a follower's subscribers may already wait under load.
    static constexpr std::chrono::microseconds kGather{2000};
    // Between events Redis's replies are read (a system call) only when kReadAfter are due or
    // the last read is kReadEvery old: each read would otherwise find one write's replies, or
    // none yet. What waits is the count of what Redis holds (a successor's skip) and the news
    // of a lost lease, which the node's lease round brings within a third of the TTL anyway.
    // backlog(), a checkpoint and the stop read at once.
    static constexpr std::size_t kReadAfter = 64;
    static constexpr std::chrono::milliseconds kReadEvery{10};
    // The source's thread, between two events (the next due at `next_due`): the appends held
    // since the last write leave, or wait for the next event's.
    void idle(std::chrono::steady_clock::time_point next_due) override {
        idle_at(std::chrono::steady_clock::now(), next_due);
    }
    void idle_at(std::chrono::steady_clock::time_point now,
                 std::chrono::steady_clock::time_point next_due);  // idle() on the tests' clock
    std::size_t held() const { return held_; }  // the source's thread: appends not yet written
    // The source's thread, between two messages: appends the world's checkpoint at the mark,
    // kept in Redis once every message before it is (fenced like an append).
    void save_checkpoint(std::int64_t mark_ms, std::string world);

    // The lease was lost or Redis failed: the node must stop this source (any thread).
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    std::string failure() const;
    std::uint64_t appended() const { return appended_.load(std::memory_order_relaxed); }
    std::uint64_t checkpoints_kept() const { return kept_.load(std::memory_order_relaxed); }

  private:
    struct Sent {
        bool checkpoint = false;
        std::uint64_t n = 0;       // the last message's: Redis holds them once answered
        std::size_t messages = 0;  // a batch's
    };
    // Writes the held messages as one call of the publish script (none held: nothing).
    bool write_held() const;
    bool load_scripts();
    // Writes what the socket takes and takes every reply that came, without waiting; with
    // `read` false, only the replies already read.
    void pump(bool read = true) const;
    void take_reply(const redisReply& reply) const;
    // Waits, up to `timeout`, for every reply (the destructor).
    void drain(std::chrono::milliseconds timeout);
    void fail(std::string why) const;

    const ClusterOptions& options_;
    const ClusterKeys keys_;
    const std::uint64_t skip_;
    const std::string maxlen_;
    const std::string feed_;                  // the followers' Pub/Sub channel
    std::unique_ptr<RedisConnection> redis_;  // the source's thread; non-blocking once loaded
    std::string publish_sha_, checkpoint_sha_;
    // The held messages' words, apart because the script's keys precede its arguments.
    mutable std::string held_keys_, held_args_;
    mutable std::size_t held_ = 0;                 // messages framed and not yet written
    mutable std::uint64_t held_last_ = 0;          // n of the newest of them
    mutable std::size_t unanswered_messages_ = 0;  // in unanswered_
    mutable bool gathering_ = false;               // held past an idle(), since gathered_since_
    std::chrono::steady_clock::time_point gathered_since_{};
    std::chrono::steady_clock::time_point read_at_{};  // idle()'s last read of the replies
    engine::Coalescer rate_{kGather};                  // the events' rate, one arrival per idle()
    mutable std::deque<Sent> unanswered_;       // in the order written: Redis replies in order
    engine::Hub staging_{1};                    // frames and numbers; keeps one message per stream
    std::vector<std::string> stream_keys_;      // by StreamId; complete before the first publish
    mutable std::string command_;               // the call being written (its memory kept)
    std::vector<std::uint64_t> last_seqs_;      // by StreamId: the newest seq framed
    Follower* serve_ = nullptr;                 // null: appended only
    std::vector<engine::StreamId> served_ids_;  // by StreamId: the stream in the node's hub
    std::optional<std::map<std::string, std::uint64_t>> from_seqs_;  // continued from a checkpoint
    std::uint64_t n_ = 0;  // messages the world has published since its epoch
    mutable std::atomic<std::uint64_t> appended_{0}, kept_{0};
    mutable std::atomic<bool> failed_{false};
    mutable std::mutex mu_;  // failure_
    mutable std::string failure_;
};

}  // namespace streambed::cluster
