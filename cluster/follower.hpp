// follower.hpp: every node's reader of the cluster's streams in Redis. It loads each stream's
// history when the node starts, then follows: subscribed to the cluster's feed (Pub/Sub: Redis
// pushes each published message, no request per message), it ingests every message into the
// local hub with its seq and bytes. The subscription is read on the hub's ingest context — an
// I/O thread of the node, whose subscribers then get each message without another thread's
// wake-up (FollowLoop) — or, with no I/O thread, on the follower's own. Its thread connects,
// subscribes, then catches up from the streams (XREAD from the last entry read of each, so what
// was published while it was away is read too, and what comes both ways is taken once); when
// Redis is lost it reports DOWN and does it again with backoff.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
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

    // The node became the source, which serves its own messages into the hub: the follower
    // stops following after reading what Redis holds now (the source appends after it), and
    // ingests nothing more until resume(). Returns once it does not, the hub then being the
    // caller's to hand to the source's thread (take_served). Never from an ingest thread.
    void pause();
    // The source has stopped (its thread joined): the follower subscribes and catches up again.
    void resume();
    engine::Hub& hub() const { return hub_; }
    // The source's own message, served into the hub while paused, from the one thread the hub
    // was handed to.
    void take_served(engine::StreamId stream, const engine::Message& m);
    // Redis answered the source's append of message `n`: it holds it. Only then does newest_n()
    // count it, so that a successor of an emptied Redis regenerates what Redis never got, for
    // the other nodes (this one ignores the seqs it served already). The source's thread.
    void redis_holds(std::uint64_t n);

    // The highest n ingested: where a successor's world may resume if Redis lost its head.
    std::uint64_t newest_n() const { return newest_n_.load(std::memory_order_acquire); }
    std::uint64_t ingested() const { return ingested_.load(std::memory_order_relaxed); }

    // A Redis stream entry's id, MS-SEQ: entries of a stream are in id order.
    struct EntryId {
        std::uint64_t ms = 0, seq = 0;
        auto operator<=>(const EntryId&) const = default;
    };
    // One message as the publish script writes it (cluster_scripts.hpp).
    struct Entry {
        std::uint64_t n = 0, seq = 0;
        std::int64_t time_ms = 0;
        std::optional<engine::MessageType> type;
        std::string_view bytes;
    };

  private:
    struct Followed {
        std::string key;
        engine::StreamId stream;
        EntryId last;  // of the newest entry read
    };
    void run();
    // One connection's turn: subscribe, catch up, follow until it fails (why) or the follower
    // stops ("").
    std::string follow_once();
    // XREAD over every stream from the last entry read.
    std::vector<std::string> xread() const;
    // Ingests an XREAD's reply; true when it brought an entry.
    bool take_read(const redisReply& reply);
    // Ingests a message of the feed, unless it was read already.
    void take_push(const redisReply& reply);
    void take(Followed& f, EntryId id, const std::optional<Entry>& entry);
    bool wait(std::chrono::milliseconds d);  // false when stopping; returns early on a pause
    // The follower's thread, while paused: reads what Redis holds, then idles until resumed.
    // False when stopping.
    bool sit_out_pause();

    const ClusterOptions& options_;
    engine::Hub& hub_;
    Report report_;
    // The caller's thread before start(), then the reads' (one at a time, handed over by post).
    std::vector<Followed> followed_;
    // Looked up by the key's view in each feed message: no string made per message.
    struct KeyHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view key) const noexcept {
            return std::hash<std::string_view>{}(key);
        }
    };
    std::unordered_map<std::string, std::size_t, KeyHash, std::equal_to<>> by_key_;
    bool up_ = true;  // the follower's thread: Redis was there at the last connection
    std::atomic<std::uint64_t> newest_n_{0};
    std::atomic<std::uint64_t> ingested_{0};

    // Where the reads run: the hub's ingest context, or own_ run by the follower's thread.
    std::unique_ptr<boost::asio::io_context> own_;
    boost::asio::io_context* ioc_;
    const std::string feed_;

    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool paused_ = false;
    std::uint64_t pauses_ = 0;    // pause() calls so far
    std::uint64_t idle_for_ = 0;  // the pause the thread sits out, ingesting nothing (0: none)
    std::shared_ptr<FollowLoop> loop_;  // while one runs
    bool loop_ended_ = false;
    std::string loop_error_;
    std::thread thread_;
};

}  // namespace streambed::cluster
