// simulator_source.hpp: the Source that `serve` runs — the World advanced on a thread of its
// own, paced by the time scale (or as fast as possible). Wall time only paces: what is
// generated depends on the seed and configuration alone. With a clock start in the past, the
// world first catches up to the simulated now (see SimConfig::clock_start_ms).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/source.hpp"
#include "engine/source_thread.hpp"
#include "simulator/config.hpp"

namespace streambed::simulator {

class World;

// What start() did to catch up with a clock start in the past.
struct CatchUp {
    std::uint64_t messages = 0;        // published before start() returned
    std::int64_t simulated_ms = 0;     // simulated time they span: from the epoch, or from
                                       // the restored checkpoint's next event
    std::chrono::microseconds wall{};  // how long it took
    std::chrono::microseconds cpu{};   // of which the catching-up thread ran
};

// A source continuing its world from a checkpoint, and taking them as it goes (a cluster's
// source: cluster/source_runner.cpp).
struct Checkpoints {
    std::string from;           // a World::checkpoint() to continue from; empty: the epoch
    std::int64_t every_ms = 0;  // simulated time between two checkpoints; 0: none are taken
    // The source's thread, between two events, each time the simulated time passes a multiple
    // of every_ms since the epoch: that mark (simulated Unix ms) and the checkpoint.
    std::function<void(std::int64_t mark_ms, std::string checkpoint)> save;
};

class SimulatorSource final : public engine::Source {
  public:
    explicit SimulatorSource(SimConfig config);  // throws ConfigError on a bad configuration
    ~SimulatorSource() override;

    // Before start(). A checkpoint that cannot be restored makes start() throw CheckpointError.
    void set_checkpoints(Checkpoints checkpoints) { checkpoints_ = std::move(checkpoints); }

    // Names the epoch (world_epoch), anchors the clock, declares the streams, catches up to
    // the simulated now when a clock start is set — all before it returns, so that no client
    // ever sees a world still catching up — then paces on its own thread.
    void start(engine::Publisher& publisher) override;
    void stop() override;

    const SimConfig& config() const { return config_; }
    std::int64_t sim_time_ms() const { return sim_time_.load(); }  // of the last event published
    bool finished() const { return finished_.load(); }             // reached stop_after_ms
    const CatchUp& catch_up() const { return catch_up_; }          // after start()

  private:
    void run(engine::Publisher& publisher);
    void catch_up_to(engine::Publisher& publisher, std::int64_t sim_now_ms);
    // After each event: saves a checkpoint when the simulated time passed the next mark.
    void maybe_checkpoint(const World& world);
    // The first multiple of checkpoints_.every_ms after the epoch that lies after `t`.
    std::int64_t mark_after(std::int64_t t) const;

    SimConfig config_;
    std::shared_ptr<World> world_;
    std::chrono::steady_clock::time_point steady_start_;  // the instant the epoch is (was) due
    engine::SourceThread thread_;
    std::atomic<std::int64_t> sim_time_{0};
    std::atomic<bool> finished_{false};
    CatchUp catch_up_;
    Checkpoints checkpoints_;
    std::int64_t next_checkpoint_ms_ = 0;
};

}  // namespace streambed::simulator
