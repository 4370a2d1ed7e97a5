// shard.hpp: one I/O thread — its io_context, the sessions it owns and, per stream, the list of
// its subscribers. The hub posts each message here once; delivery to this shard's subscribers
// then runs on this thread alone, so the broadcast path takes no lock.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "engine/coalescer.hpp"
#include "engine/hub.hpp"
#include "engine/metrics.hpp"
#include "engine/send_ring.hpp"

namespace streambed::engine {

// What a shard needs of a session (implemented by Session, engine/session.hpp). Shard thread only.
class Subscriber {
  public:
    // `at_once`: no other message waits for this thread, so nothing would join a deferred
    // write; the subscriber writes now instead of at the end of the turn (defer_flush).
    virtual void deliver(const MessagePtr& message, bool at_once) = 0;
    // The subscriber's entry for `stream` moved to `slot` in the shard's table.
    virtual void moved(StreamId stream, std::uint32_t slot) = 0;
    virtual void on_stream_added(Stream* stream) = 0;
    virtual void close_for_shutdown() = 0;
    // The end of the shard's turn: write what was queued since defer_flush().
    virtual void flush() = 0;
    // The shard's heartbeat tick: kHeartbeatPhases of them per heartbeat interval. A session
    // that keeps its own heartbeat (Beast's) ignores it.
    virtual void heartbeat(std::uint64_t tick) = 0;
    // Hints for the delivery loop, a few subscribers ahead of the one it delivers to: start
    // fetching the memory deliver() will touch (stage 0: what the object points to; stage 1:
    // one level further), so that cache misses overlap instead of coming one after another.
    virtual void prefetch(int stage) const = 0;

  protected:
    ~Subscriber() = default;
};

class Shard final : public FanoutTarget {
  public:
    // `coalesce_window`: how long writes may be held under a steady high rate (Coalescer);
    // zero writes every message at once when nothing else waits. `heartbeat`: the interval of
    // the sessions' heartbeat (zero: no ticks). `send_ring`: the writes of a delivery loop go
    // out together through an io_uring (SendRing), where the kernel allows it.
    explicit Shard(unsigned index, std::chrono::microseconds coalesce_window = {},
                   std::chrono::milliseconds heartbeat = {}, bool send_ring = false);
    ~Shard() override;

    unsigned index() const { return index_; }
    boost::asio::io_context& ioc() { return ioc_; }
    ShardCounters& counters() { return counters_; }

    void start_thread();
    void stop_thread();  // stops the io_context and joins

    // FanoutTarget: called on the publisher's thread, handed over to this shard's thread.
    void on_stream_added(Stream* stream) override;
    void on_message(MessagePtr message) override;
    Backlog backlog() const override;
    boost::asio::io_context* io_context() override { return &ioc_; }

    // Shard thread only.
    std::uint32_t table_add(StreamId stream, Subscriber* s);
    void table_remove(StreamId stream, std::uint32_t slot);
    void wildcard_add(Endpoint endpoint, Subscriber* s);
    void wildcard_remove(Endpoint endpoint, Subscriber* s);
    void session_add(Subscriber* s);
    void session_remove(Subscriber* s) { sessions_.erase(s); }
    void close_all_for_shutdown();
    // `s` has frames to write: it is flushed once, after every handler already queued on this
    // thread has run, so a connection's frames of one turn leave in one write; while a delivery
    // holds (Coalescer), at the end of the hold window instead. A subscriber that goes away
    // before then cancels.
    void defer_flush(Subscriber* s);
    void cancel_flush(Subscriber* s);
    std::uint64_t next_session_number() { return ++session_counter_; }
    // Inside one of the shard's loops over many subscribers (a delivery, the end of a turn, a
    // heartbeat tick): the ring a write joins, sent when the loop ends. Null elsewhere, or
    // without a ring: write at once.
    SendRing* send_ring() { return batching_ && ring_->accepting() ? ring_.get() : nullptr; }

    // A heartbeat interval is cut in this many ticks; a session acts on one tick of them (its
    // phase), so that the pings of many idle connections are spread over the interval rather
    // than sent together.
    static constexpr unsigned kHeartbeatPhases = 16;

  private:
    // A loop whose writes go out together: the outermost one submits them as it ends.
    class Batch {
      public:
        explicit Batch(Shard& shard) : shard_(shard), outer_(shard.ring_ && !shard.batching_) {
            if (outer_) shard_.batching_ = true;
        }
        ~Batch() {
            if (!outer_) return;
            shard_.batching_ = false;
            shard_.ring_->submit();
        }
        Batch(const Batch&) = delete;
        Batch& operator=(const Batch&) = delete;

      private:
        Shard& shard_;
        const bool outer_;
    };

    void deliver(const MessagePtr& m);  // to this shard's subscribers of its stream
    void deliver_to(const std::vector<Subscriber*>& subs, const MessagePtr& m, bool at_once);
    void end_hold();       // the hold timer fired: the inbox's messages, then every held write
    void flush_pending();  // every subscriber in flush_pending_, now
    void arm_heartbeat();

    // From this many subscribers of a message on, the shard counts references to it on its own
    // (one allocation, against a contended atomic per delivery; see on_message).
    static constexpr std::size_t kShardReferenceFrom = 8;
    // Cache lines of a subscriber object fetched ahead of its delivery (its hot members).
    static constexpr int kPrefetchLines = 6;

    const unsigned index_;
    ShardCounters counters_;
    std::vector<std::vector<Subscriber*>> table_;  // by StreamId
    std::array<std::vector<Subscriber*>, kEndpointCount> wildcard_;
    std::unordered_set<Subscriber*> sessions_;
    std::vector<Subscriber*> flush_pending_;
    std::vector<Subscriber*> flushing_;  // the list being flushed (kept: no allocation per turn)
    Coalescer coalescer_;
    bool holding_ = false;      // a delivery under a high rate is running: its flushes wait
    bool turn_posted_ = false;  // a flush at the end of this turn is posted
    bool hold_armed_ = false;   // the hold timer runs
    const bool want_ring_;
    // This thread's (start_thread); null: io_uring off or refused by the kernel, or no thread.
    std::unique_ptr<SendRing> ring_;
    bool batching_ = false;  // inside a Batch: writes join the ring
    std::uint64_t session_counter_ = 0;
    const std::chrono::milliseconds heartbeat_;
    std::uint64_t heartbeat_tick_ = 0;
    std::vector<Subscriber*> heartbeat_list_;  // the sessions of this tick (kept: no allocation)
    std::atomic<std::uint64_t> handed_{0};  // messages posted to this thread (publisher's thread)
    std::atomic<std::uint64_t> delivered_{0};  // of which delivered (this thread)
    // While the hold timer runs, the publisher's thread leaves messages here instead of posting
    // each (a post wakes this thread: 10,000 wake-ups a second at 10,000 msg/s); the timer's
    // handler delivers them. Guarded by inbox_mu_ (both threads).
    std::mutex inbox_mu_;
    bool inbox_open_ = false;
    std::vector<MessagePtr> inbox_;
    std::vector<MessagePtr> draining_;  // this thread's: the inbox being delivered (kept)
    std::thread thread_;
    // Destroyed before the members above, so handlers it still holds (and the sessions they keep
    // alive) are released while the tables still exist.
    boost::asio::io_context ioc_{1};
    // After the io_context: destroyed before it, as Asio requires of its I/O objects. Made on
    // the first hold: a timer brings the reactor into every turn of an io_context that has no
    // socket (BM_ShardFanout's), and a shard that never holds needs none.
    std::optional<boost::asio::steady_timer> hold_timer_;
    // One timer for the heartbeat of every session of the shard (a timer per connection costs
    // its object and a pending operation, ~260 bytes). Made with the first session.
    std::optional<boost::asio::steady_timer> heartbeat_timer_;
};

}  // namespace streambed::engine
