// session_meter.hpp: what one WebSocket session reports — to its shard's counters (queued bytes
// and pressure, publish-to-write latency, frames, bytes and messages sent) and, when the server
// records, to the tap (the session opened, every frame in and out, how it closed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/gathered_writer.hpp"
#include "engine/message.hpp"
#include "engine/metrics.hpp"
#include "engine/outbound_queue.hpp"
#include "engine/tap.hpp"

namespace streambed::engine {

class SessionMeter {
  public:
    // A session is pressured (counted in pressured_sessions) past half its outbound bound.
    SessionMeter(ShardCounters& counters, Tap* tap, std::size_t outbound_limit)
        : counters_(counters), tap_(tap), pressured_from_(outbound_limit / 2) {}

    // Recording (only when the server has a tap): from opened() on.
    bool recording() const { return tap_id_ != 0; }
    void opened(SessionOpened session);
    void frame_in(std::string_view text);
    // The close to record: this side's when it closes first, else the peer's close frame.
    void closing(int code, std::string_view reason) {
        close_code_ = code;
        close_reason_ = reason;
    }
    // The session ends: recorded with our close code, else the peer's, else 1006 (the
    // connection just dropped).
    void closed(int peer_code, std::string_view peer_reason);

    // A push to the outbound queue: what it came to, the messages conflated to make room and
    // the bytes queued now.
    void pushed(PushResult result, std::size_t conflated, std::size_t queued_bytes) {
        if (result == PushResult::overflow) counters_.slow_consumer_closes.add();
        if (conflated) counters_.conflated.add(conflated);
        queued(queued_bytes);
    }
    // Keeps the shard's queued-bytes gauge equal to the sum of its sessions' queues.
    void queued(std::size_t bytes) {
        if (bytes > reported_queued_)
            counters_.queued_bytes.add(bytes - reported_queued_);
        else
            counters_.queued_bytes.sub(reported_queued_ - bytes);
        reported_queued_ = bytes;
        if (const bool over = bytes > pressured_from_; over != pressured_) {
            pressured_ = over;
            if (over)
                counters_.pressured_sessions.add();
            else
                counters_.pressured_sessions.sub();
        }
    }
    // Latency histogram: publish → the write of the message started.
    void write_started(std::span<const MessagePtr> batch);
    // The in-flight messages are on the wire: as one frame through Beast (`payload` bytes), or
    // as the frames of a gathered write, each alone or in the segments of a ?batch=1 one.
    void written_as_one(std::span<const MessagePtr> sent, std::size_t payload);
    void written_gathered(std::span<const MessagePtr> sent, const GatheredWriter& writer);

  private:
    void count(std::span<const MessagePtr> sent, std::size_t frames, std::size_t payload);

    ShardCounters& counters_;
    Tap* const tap_;
    const std::size_t pressured_from_;
    std::uint64_t tap_id_ = 0;
    std::size_t reported_queued_ = 0;
    bool pressured_ = false;  // counted in the shard's pressured_sessions
    int close_code_ = 0;
    std::string close_reason_;
};

}  // namespace streambed::engine
