// clock.hpp: the process's two clocks and the anchor that maps simulated time to wall time. Every
// conversion between simulated and wall time is here, so that the hub, the welcome, the sources,
// verify and the client fleet agree to the microsecond on when a message was due.
#pragma once

#include <cstdint>

namespace streambed::engine {

// The system clock in Unix µs: instants shared with other processes (the welcome's clock,
// recordings, lateness).
std::int64_t wall_now_us();
// The steady clock in µs from an arbitrary origin: intervals within this process.
std::int64_t steady_now_us();

// Maps simulated time to wall time: sim(wall) = sim_ms + (wall - wall_us) / 1000 * scale.
// Sent to every client in `welcome.clock` so it can compute when a message was due.
struct ClockAnchor {
    std::int64_t sim_ms = 0;   // simulated Unix ms at the anchor
    std::int64_t wall_us = 0;  // system-clock Unix µs at the anchor
    double scale = 1.0;  // simulated ms per wall ms; 0: unpaced, nothing is due at any instant
};

// Simulated ms that pass in `wall_us` of wall time, and the reverse (scale > 0).
inline double sim_span_ms(double scale, std::int64_t wall_us) {
    return static_cast<double>(wall_us) / 1000.0 * scale;
}
inline double wall_span_us(double scale, std::int64_t sim_ms) {
    return static_cast<double>(sim_ms) * 1000.0 / scale;
}

// Simulated time as the wall clock: the millisecond of `wall_us`, paired with the instant it
// began (pairing it with the exact µs would put every due instant up to 1 ms late).
ClockAnchor wall_clock_anchor(std::int64_t wall_us);

// The simulated ms at wall instant `wall_us` (the elapsed part truncated).
std::int64_t sim_at(const ClockAnchor& a, std::int64_t wall_us);
// The wall time from the anchor to the instant `sim_ms` is due (scale > 0), in µs.
inline double wall_offset_us(const ClockAnchor& a, std::int64_t sim_ms) {
    return wall_span_us(a.scale, sim_ms - a.sim_ms);
}
// The wall instant `sim_ms` is due (scale > 0): exact, and rounded to the µs.
inline double due_wall_us(const ClockAnchor& a, std::int64_t sim_ms) {
    return static_cast<double>(a.wall_us) + wall_offset_us(a, sim_ms);
}
std::int64_t wall_at_us(const ClockAnchor& a, std::int64_t sim_ms);
// The same clock anchored at `wall_us`: the simulated ms then, paired with the instant that whole
// millisecond was due (not the truncated moment after it; unpaced: `wall_us` itself).
ClockAnchor anchor_at(const ClockAnchor& a, std::int64_t wall_us);
// How late a message of simulated time `time_ms` is when received at `received_wall_us`
// (scale > 0); negative when early.
inline std::int64_t lateness_us(const ClockAnchor& a, std::int64_t time_ms,
                                std::int64_t received_wall_us) {
    return received_wall_us - static_cast<std::int64_t>(due_wall_us(a, time_ms));
}

}  // namespace streambed::engine
