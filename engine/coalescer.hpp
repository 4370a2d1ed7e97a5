// coalescer.hpp: when a shard holds its writes back so that messages due close together leave
// in one write per connection (adaptive coalescing; docs/architecture.md).
//
// Idle, a message is written at once: holding it would only add lateness, nothing would join
// it. Under a steady high rate every message costs each connection a system call of its own;
// holding the first one for a short window lets the next ones join it. The rate is read from
// the previous whole period, never the current one, so a burst that follows quiet (the
// simulator's 2 s cadence) is not held: it is gathered by the end of the shard's turn instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace streambed::engine {

class Coalescer {
  public:
    // `window`: how long a held write may wait for others; zero never holds.
    explicit Coalescer(std::chrono::microseconds window)
        : window_us_(window.count()), period_us_(window_us_ * kWindowsPerPeriod) {}

    bool enabled() const { return window_us_ > 0; }
    std::chrono::microseconds window() const { return std::chrono::microseconds(window_us_); }

    // A message arrives at `now_us` (steady clock, engine/clock.hpp). True: the previous period
    // carried at least one message per window, so the next one is expected within the window: hold
    // the writes.
    bool arrive(std::int64_t now_us) {
        if (!enabled()) return false;
        if (now_us - period_start_us_ >= period_us_) {
            // The period just ended counts only if it is the one right before this one.
            previous_ = now_us - period_start_us_ < 2 * period_us_ ? current_ : 0;
            current_ = 0;
            period_start_us_ = now_us;
        }
        ++current_;
        return previous_ >= kWindowsPerPeriod;
    }

  private:
    // A period of 16 windows: long enough that a few late or early messages do not flip the
    // decision, short enough (32 ms at the default window) to follow a rate that changes.
    static constexpr std::int64_t kWindowsPerPeriod = 16;

    std::int64_t window_us_;
    std::int64_t period_us_;
    std::int64_t period_start_us_ = 0;
    std::uint64_t previous_ = 0;
    std::uint64_t current_ = 0;
};

}  // namespace streambed::engine
