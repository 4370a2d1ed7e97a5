// clock.cpp: the clocks and the simulated-to-wall anchor.
#include "engine/clock.hpp"

#include <chrono>
#include <cmath>

namespace streambed::engine {

std::int64_t wall_now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t steady_now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

ClockAnchor wall_clock_anchor(std::int64_t wall_us) {
    const std::int64_t ms = wall_us / 1000;
    return {ms, ms * 1000, 1.0};
}

std::int64_t sim_at(const ClockAnchor& a, std::int64_t wall_us) {
    return a.sim_ms + static_cast<std::int64_t>(sim_span_ms(a.scale, wall_us - a.wall_us));
}

std::int64_t wall_at_us(const ClockAnchor& a, std::int64_t sim_ms) {
    return a.wall_us + std::llround(wall_offset_us(a, sim_ms));
}

ClockAnchor anchor_at(const ClockAnchor& a, std::int64_t wall_us) {
    const std::int64_t sim = sim_at(a, wall_us);
    return {sim, a.scale > 0 ? wall_at_us(a, sim) : wall_us, a.scale};
}

}  // namespace streambed::engine
