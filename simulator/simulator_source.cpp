// simulator_source.cpp: the pacing thread.
#include "simulator/simulator_source.hpp"

#include <chrono>

#include "simulator/world.hpp"

namespace streambed::simulator {

SimulatorSource::SimulatorSource(SimConfig config) : config_(config) { validate(config_); }

SimulatorSource::~SimulatorSource() { stop(); }

void SimulatorSource::start(engine::Publisher& publisher) {
    // The streams exist before start() returns, so a client connecting right after sees them.
    world_ = std::make_shared<World>(config_, publisher);
    // The clock is anchored before start() returns, so the first welcome already carries it.
    using namespace std::chrono;
    steady_start_ = steady_clock::now();
    const auto wall_start = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
    publisher.set_clock({config_.epoch_ms, wall_start, config_.time_scale > 0 ? config_.time_scale : 0.0});
    thread_.start([this, &publisher] { run(publisher); });
}

void SimulatorSource::stop() { thread_.stop(); }

void SimulatorSource::run(engine::Publisher&) {
    using namespace std::chrono;
    World& world = *world_;
    const bool paced = config_.time_scale > 0;
    const auto steady_start = steady_start_;
    sim_time_ = config_.epoch_ms;
    while (true) {
        const std::int64_t t = world.next_event_ms();
        if (config_.stop_after_ms >= 0 && t > config_.epoch_ms + config_.stop_after_ms) break;
        if (paced) {
            const auto due = steady_start + duration_cast<steady_clock::duration>(duration<double, std::milli>(
                                                static_cast<double>(t - config_.epoch_ms) / config_.time_scale));
            if (!thread_.wait_until(due)) return;
        } else if (!thread_.running()) {
            return;
        }
        world.advance();
        sim_time_ = t;
    }
    finished_ = true;
}

}  // namespace streambed::simulator
