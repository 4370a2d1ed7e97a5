// coalescer_test.cpp: when a shard holds writes back — never idle, never for a burst after
// quiet, always under a steady rate of a message per window or more, and no longer once the
// rate stops.
#include "engine/coalescer.hpp"

#include <gtest/gtest.h>

namespace streambed::engine {
namespace {

using std::chrono::microseconds;
constexpr std::int64_t kMs = 1000;  // µs

// Messages every `step_us` from `from_us` for `count` messages; how many were held.
int held_of(Coalescer& c, std::int64_t from_us, std::int64_t step_us, int count) {
    int held = 0;
    for (int i = 0; i < count; ++i) held += c.arrive(from_us + i * step_us) ? 1 : 0;
    return held;
}

TEST(Coalescer, AZeroWindowNeverHolds) {
    Coalescer c(microseconds(0));
    EXPECT_EQ(held_of(c, kMs, 1, 100000), 0);
}

TEST(Coalescer, AnIdleMessageIsNeverHeld) {
    Coalescer c(microseconds(1000));
    for (int i = 1; i <= 20; ++i) EXPECT_FALSE(c.arrive(i * 2000 * kMs)) << i;  // every 2 s
}

TEST(Coalescer, ABurstAfterQuietIsNotHeld) {
    Coalescer c(microseconds(1000));
    // The simulator's cadence: 200 messages at once every 2 s.
    for (int tick = 1; tick <= 5; ++tick)
        EXPECT_EQ(held_of(c, tick * 2000 * kMs, 0, 200), 0) << "tick " << tick;
}

TEST(Coalescer, ASteadyRateOfAMessagePerWindowIsHeldAfterOnePeriod) {
    Coalescer c(microseconds(1000));
    // 10,000 msg/s: the first period (16 ms) is only counted, every later message is held.
    const int first_period = held_of(c, 1000 * kMs, kMs / 10, 160);
    EXPECT_EQ(first_period, 0);
    EXPECT_EQ(held_of(c, 1016 * kMs, kMs / 10, 1000), 1000);
}

TEST(Coalescer, ARateBelowOnePerWindowIsNotHeld) {
    Coalescer c(microseconds(1000));
    EXPECT_EQ(held_of(c, 1000 * kMs, 2 * kMs, 500), 0);  // 500 msg/s
}

TEST(Coalescer, HoldingStopsWhenTheRateStops) {
    Coalescer c(microseconds(1000));
    held_of(c, 1000 * kMs, kMs / 10, 400);  // 40 ms at 10,000 msg/s
    ASSERT_TRUE(c.arrive(1040 * kMs));
    // Two quiet periods later the previous period is empty: the next message leaves at once.
    EXPECT_FALSE(c.arrive(1100 * kMs));
}

}  // namespace
}  // namespace streambed::engine
