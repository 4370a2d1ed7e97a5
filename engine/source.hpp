// source.hpp: the small interface through which data enters the engine. The simulator and the
// replayer are Sources; the engine only ever sees a Publisher.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/catalog.hpp"
#include "engine/clock.hpp"
#include "engine/message.hpp"

namespace streambed::engine {

// How far delivery lags behind publishing: messages not yet handed to every subscriber, and
// bytes waiting in outbound queues. A source that publishes as fast as the server delivers (the
// benchmark flood) waits while they are high; a paced source ignores them.
struct Backlog {
    std::uint64_t messages = 0;
    std::uint64_t queued_bytes = 0;
    std::uint64_t pressured_connections = 0;  // queue past half its bound: conflation is near
    double tap_fill = 0;                      // the recorder's queue, 0 to 1 (Tap::fill)
};

class Publisher {
  public:
    virtual ~Publisher() = default;
    // Declares (or finds) the stream (endpoint, channel). Channel ids are [A-Za-z0-9_.:-]{1,64}.
    virtual StreamId declare_stream(Endpoint endpoint, std::string_view channel) = 0;
    // Publishes one data message; the engine assigns `seq` and frames the envelope around
    // `data_json`, which must be one canonical JSON object.
    // A source never calls the Publisher from two threads at once (declare, and catch up, on the
    // caller of start(), publish from its own thread after: thread creation orders the two).
    virtual MessagePtr publish(StreamId stream, MessageType type, std::int64_t time_ms,
                               std::string_view data_json) = 0;
    virtual void set_clock(const ClockAnchor& clock) = 0;
    // Names the world whose seqs this source publishes (engine/epoch.hpp): sent in every
    // welcome and poll, compared with a resuming client's. Set in start(), before the streams
    // are declared, like the clock. A publisher that serves no client ignores it.
    virtual void set_epoch(std::string epoch) { (void)epoch; }
    virtual Backlog backlog() const { return {}; }
    // The source is done with its current event and waits for the next, due at `next_due`
    // (steady clock; now or earlier for an unpaced source; time_point::max() after the world's
    // last event, when none follows): what a publisher held back to send together (a
    // cluster's appends to Redis) may leave now, or wait for the next event's when that is
    // near. The publishing thread.
    virtual void idle(std::chrono::steady_clock::time_point next_due) { (void)next_due; }
};

// A Publisher that numbers the streams declared on it and drops what is published: for a
// World built only to be measured, or to try a checkpoint on.
class DiscardingPublisher final : public Publisher {
  public:
    StreamId declare_stream(Endpoint, std::string_view) override { return next_++; }
    MessagePtr publish(StreamId, MessageType, std::int64_t, std::string_view) override {
        return nullptr;
    }
    void set_clock(const ClockAnchor&) override {}

  private:
    StreamId next_ = 0;
};

class Source {
  public:
    virtual ~Source() = default;
    // Declares the source's streams and starts publishing from a thread of its own.
    virtual void start(Publisher& publisher) = 0;
    // Returns once no further publish call will be made; also after a start() that threw. The
    // server stops its source before its own I/O threads.
    virtual void stop() = 0;
};

}  // namespace streambed::engine
