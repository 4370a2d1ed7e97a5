// simulator_source.hpp: the Source that `serve` runs — the World advanced on a thread of its
// own, paced by the time scale (or as fast as possible). Wall time only paces: what is
// generated depends on the seed and configuration alone.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "engine/source.hpp"
#include "engine/source_thread.hpp"
#include "simulator/config.hpp"

namespace streambed::simulator {

class SimulatorSource final : public engine::Source {
public:
    explicit SimulatorSource(SimConfig config);  // throws ConfigError on a bad configuration
    ~SimulatorSource() override;

    void start(engine::Publisher& publisher) override;
    void stop() override;

    const SimConfig& config() const { return config_; }
    std::int64_t sim_time_ms() const { return sim_time_.load(); }  // of the last event published
    bool finished() const { return finished_.load(); }             // reached stop_after_ms

private:
    void run(engine::Publisher& publisher);

    SimConfig config_;
    std::shared_ptr<class World> world_;
    std::chrono::steady_clock::time_point steady_start_;  // the instant the epoch is due
    engine::SourceThread thread_;
    std::atomic<std::int64_t> sim_time_{0};
    std::atomic<bool> finished_{false};
};

}  // namespace streambed::simulator
