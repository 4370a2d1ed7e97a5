// hub.hpp: the registry of streams and the entry of every published message. A message is
// framed once, stored in its stream's history, and handed to each fan-out target (one per I/O
// thread), which delivers it to its own subscribers without any lock shared between threads.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend.hpp"
#include "engine/metrics.hpp"
#include "engine/source.hpp"
#include "engine/stream.hpp"
#include "engine/tap.hpp"

namespace boost::asio {
class io_context;
}

namespace streambed::engine {

// Receives what the hub publishes, on the publisher's thread; implementations hand it over to
// their own thread (Shard posts to its io_context).
class FanoutTarget {
  public:
    virtual ~FanoutTarget() = default;
    virtual void on_stream_added(Stream* stream) = 0;
    virtual void on_message(MessagePtr message) = 0;
    // Messages handed over and not yet delivered; bytes in its sessions' outbound queues.
    virtual Backlog backlog() const = 0;
    // The io_context whose thread delivers this target's messages; nullptr when it has none.
    virtual boost::asio::io_context* io_context() { return nullptr; }
};

class Hub final : public Publisher {
  public:
    explicit Hub(std::size_t history_limit);

    // Publisher (the source's side)
    StreamId declare_stream(Endpoint endpoint, std::string_view channel) override;
    MessagePtr publish(StreamId stream, MessageType type, std::int64_t time_ms,
                       std::string_view data_json) override;
    void set_clock(const ClockAnchor& clock) override;
    void set_epoch(std::string epoch) override;
    Backlog backlog() const override;  // the largest of the targets' (any thread)

    // The engine's side. Targets are attached before the source starts.
    void attach(FanoutTarget* target);
    // A message framed by another node of a cluster (cluster/): stored and handed to the
    // targets like a published one, with its own seq and bytes. Seqs at or below the stream's
    // newest are ignored (nullptr); a jump past the next one restarts the stream's history, so
    // history always holds consecutive seqs. Called from one thread at a time, as publish is.
    MessagePtr ingest(StreamId stream, std::uint64_t seq, MessageType type, std::int64_t time_ms,
                      std::string bytes);
    // Where a feed from outside the process (a cluster's follower) should run its ingest: the
    // first target's I/O thread, whose own subscribers then get each message without a
    // hand-over to another thread. nullptr while no target has one.
    boost::asio::io_context* ingest_context() const;
    // Before the stream's first message, from the publishing thread: its numbering continues
    // after `seq` (a cluster's source continuing the world from a checkpoint). False after.
    bool continue_after(StreamId stream, std::uint64_t seq);
    // The shared backend's health (a cluster's Redis): see engine/backend.hpp.
    BackendHealth& backend() { return backend_; }
    const BackendHealth& backend() const { return backend_; }
    // The observer of every published message (the recorder); set before the source starts.
    void set_tap(Tap* tap) { tap_ = tap; }
    Stream* find(Endpoint endpoint, std::string_view channel) const;
    std::vector<Stream*> streams_of(Endpoint endpoint) const;
    std::size_t stream_count() const;
    ClockAnchor clock() const;
    std::string epoch() const;  // a random "run-…" until the source names its world
    std::uint64_t published() const { return published_.load(std::memory_order_relaxed); }
    // Due → hub for every message of the endpoint's streams published or ingested while the
    // clock is paced (any thread).
    const DueLateness& due_lateness(Endpoint endpoint) const { return due_[index(endpoint)]; }

  private:
    const std::size_t history_limit_;
    std::vector<FanoutTarget*> targets_;
    Tap* tap_ = nullptr;

    // Guards the registry only; publish() reaches its stream through the id, lock-free.
    mutable std::shared_mutex registry_mu_;
    std::vector<std::unique_ptr<Stream>> streams_;
    std::atomic<std::size_t> stream_count_{0};

    mutable std::mutex clock_mu_;
    ClockAnchor clock_;
    std::string epoch_;  // guarded by clock_mu_ too
    std::atomic<std::uint64_t> published_{0};
    BackendHealth backend_;
    // The clock again, for the publishing thread to read without the lock (a torn read across
    // set_clock would misplace one sample of a metric, nothing else).
    std::atomic<std::int64_t> due_sim_ms_{0}, due_wall_us_{0};
    std::atomic<double> due_scale_{0};
    std::array<DueLateness, kEndpointCount> due_;  // by endpoint
    void observe_due(Endpoint endpoint, std::int64_t time_ms);
};

bool valid_channel_id(std::string_view channel);

}  // namespace streambed::engine
