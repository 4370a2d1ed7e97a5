// outbound_queue.hpp: one connection's bounded queue of frames waiting for the socket.
// Under pressure, queued state messages are conflated (only the newest per stream is kept);
// if the bound is still exceeded the push reports overflow and the session closes 1013.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "engine/message.hpp"

namespace streambed::engine {

enum class PushResult { queued, conflated, overflow };

class OutboundQueue {
  public:
    explicit OutboundQueue(std::size_t limit_bytes) : limit_(limit_bytes) {}

    // Errors as values: on overflow `m` is not queued (older states may have been conflated
    // while trying to make room); the caller closes the connection with 1013.
    PushResult push(MessagePtr m);

    bool has_queued() const { return head_ < queue_.size(); }
    bool writing() const { return !inflight_.empty(); }
    // Moves the oldest messages in flight: at least one (max_messages >= 1), then more while
    // both limits and half the bound allow. With `control_alone`, a control message goes in flight
    // alone and data messages stop before one (a ?batch=1 array frame holds data messages only).
    std::span<const MessagePtr> begin_write(std::size_t max_messages, std::size_t max_bytes,
                                            bool control_alone = false);
    std::span<const MessagePtr> inflight() const { return inflight_; }
    // The in-flight messages have been written; forget them.
    void end_write();
    // Drops everything queued (not what is in flight).
    void clear();

    std::size_t bytes() const { return queued_bytes_ + inflight_bytes_; }
    // Starts fetching the memory the next push and write touch.
    void prefetch() const {
        if (has_queued()) __builtin_prefetch(&queue_.back());
        __builtin_prefetch(inflight_.data());
    }
    std::size_t queued() const { return queue_.size() - head_; }
    std::size_t conflated() const { return conflated_; }

  private:
    std::size_t conflate(const Message* incoming);
    // Drops the entries before head_ and, once a burst is over, the memory it took.
    void compact();

    std::size_t limit_;
    // The queue is queue_[head_..]: taken from the front by moving head_, compacted when a write
    // begins. A vector allocates nothing until the first push (a deque allocates on
    // construction, 576 bytes for every idle connection).
    std::vector<MessagePtr> queue_;
    std::size_t head_ = 0;
    std::vector<MessagePtr> inflight_;
    std::size_t queued_bytes_ = 0;
    std::size_t inflight_bytes_ = 0;
    std::size_t conflated_ = 0;
};

}  // namespace streambed::engine
