// flood_source.hpp: the Source of `serve --flood RATE|max`, for fan-out benchmarks. It publishes
// /ws/metrics messages — the metrics objects the simulator's world makes for the seed, cycled —
// at RATE messages per second, or with `max` as fast as the server delivers them (it waits while
// the server's backlog is high, so a saturated run measures the server, not its queues).
// A message's `time` is the wall clock at publish (scale 1), so lateness is measured from the
// instant it was published.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/source.hpp"
#include "engine/source_thread.hpp"
#include "simulator/config.hpp"

namespace streambed::simulator {

class FloodSource final : public engine::Source {
  public:
    // rate: messages per second (> 0); nullopt: saturation.
    FloodSource(const SimConfig& config, std::optional<double> rate);
    ~FloodSource() override;

    void start(engine::Publisher& publisher) override;
    void stop() override;

    // Saturation waits while more messages than this are on their way to the I/O threads, or
    // more bytes than this wait in outbound queues, or any connection's queue is past half its
    // bound: enough to keep every connection's gathered write full, little enough that no queue
    // reaches its bound (no conflation, no 1013) — the pace of the slowest client; and while the
    // recorder's queue is more than half full (nothing dropped: a recorded saturated run
    // measures what recording costs).
    static constexpr std::uint64_t kMaxBacklogMessages = 64;
    static constexpr std::uint64_t kMaxQueuedBytes = 8u << 20;

  private:
    void run(engine::Publisher& publisher);

    std::optional<double> rate_;
    std::vector<std::string> samples_;
    engine::StreamId stream_ = 0;
    engine::SourceThread thread_;
};

}  // namespace streambed::simulator
