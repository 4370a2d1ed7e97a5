// demo_source.hpp: the documented demo source that `make serve` runs until the full simulator
// lands — a small, coherent, deterministic world publishing on all six endpoints at the spec's
// cadences, honouring --seed and --time-scale. See docs/simulator.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "engine/source.hpp"

namespace streambed::simulator {

struct DemoConfig {
    std::uint64_t seed = 42;
    double time_scale = 1.0;                // simulated ms per wall ms; <= 0: as fast as possible
    std::int64_t epoch_ms = 1762732800000;  // 2025-11-10T00:00:00Z, the spec's example instant
    int channels = 8;                       // ch-1 … ch-8, the spec's default
    int validators = 7;                     // val-1 … val-7, the spec's default
    double tx_per_second = 4.0;             // per channel: Poisson arrivals
    std::int64_t stop_after_ms = -1;        // simulated duration; < 0: run until stopped
};

class DemoSource final : public engine::Source {
public:
    explicit DemoSource(DemoConfig config);
    ~DemoSource() override;

    void start(engine::Publisher& publisher) override;
    void stop() override;
    // Simulated time of the last published event.
    std::int64_t sim_time_ms() const { return sim_time_.load(); }
    bool finished() const { return finished_.load(); }

private:
    void run(engine::Publisher& publisher);

    DemoConfig config_;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::atomic<std::int64_t> sim_time_{0};
    std::atomic<bool> finished_{false};
};

}  // namespace streambed::simulator
