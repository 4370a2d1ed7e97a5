// clock_test.cpp: the simulated-to-wall arithmetic every part of the tree shares — truncation of
// simulated time, rounding of due instants, the welcome's re-anchoring, lateness.
#include "engine/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>

namespace streambed::engine {
namespace {

TEST(Clock, WallNowIsTheSystemClockInMicroseconds) {
    using namespace std::chrono;
    const auto before = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
    const auto now = wall_now_us();
    const auto after = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
    EXPECT_LE(before, now);
    EXPECT_LE(now, after);
}

TEST(Clock, SteadyNowNeverGoesBack) {
    std::int64_t last = steady_now_us();
    for (int i = 0; i < 1000; ++i) {
        const auto now = steady_now_us();
        ASSERT_GE(now, last);
        last = now;
    }
}

TEST(Clock, TheWallClockAnchorPairsTheMillisecondWithTheInstantItBegan) {
    const ClockAnchor a = wall_clock_anchor(1'700'000'000'123'456);
    EXPECT_EQ(a.sim_ms, 1'700'000'000'123);
    EXPECT_EQ(a.wall_us, 1'700'000'000'123'000);
    EXPECT_EQ(a.scale, 1.0);
    EXPECT_EQ(sim_at(a, 1'700'000'000'123'999), 1'700'000'000'123);
    EXPECT_EQ(sim_at(a, 1'700'000'000'124'000), 1'700'000'000'124);
}

TEST(Clock, SimulatedTimeRunsAtTheScaleAndTruncates) {
    const ClockAnchor a{1000, 5'000'000, 2.0};
    EXPECT_EQ(sim_at(a, 5'000'000), 1000);
    EXPECT_EQ(sim_at(a, 5'001'500), 1003);
    EXPECT_EQ(sim_at(a, 5'000'999), 1001);  // 1.998 simulated ms
    EXPECT_EQ(sim_at(a, 4'999'000), 998);
    EXPECT_EQ(sim_span_ms(2.0, 1500), 3.0);
    EXPECT_EQ(wall_span_us(2.0, 3), 1500.0);
}

TEST(Clock, DueInstantsAreExactOrRoundedToTheMicrosecond) {
    const ClockAnchor a{1000, 5'000'000, 3.0};
    EXPECT_DOUBLE_EQ(wall_offset_us(a, 1001), 1000.0 / 3.0);
    EXPECT_DOUBLE_EQ(due_wall_us(a, 1001), 5'000'000 + 1000.0 / 3.0);
    EXPECT_EQ(wall_at_us(a, 1001), 5'000'333);
    EXPECT_EQ(wall_at_us(a, 1002), 5'000'667);
    EXPECT_EQ(wall_at_us(a, 997), 4'999'000);
}

TEST(Clock, ReanchoringKeepsTheClockAndPairsTheWholeMillisecond) {
    const ClockAnchor a{1000, 5'000'000, 3.0};
    const ClockAnchor b = anchor_at(a, 5'000'500);  // 1.5 simulated ms later
    EXPECT_EQ(b.sim_ms, 1001);
    EXPECT_EQ(b.wall_us, 5'000'333);  // when 1001 was due, not 5'000'500
    EXPECT_EQ(b.scale, 3.0);

    // Any anchor taken from it maps every simulated instant to the same wall instant, to 1 µs.
    for (const double scale : {0.5, 1.0, 3.0, 7.3, 1000.0}) {
        const ClockAnchor base{1'700'000'000'000, 1'700'000'000'000'000, scale};
        for (std::int64_t step = 0; step < 5'000'000; step += 7919) {
            const std::int64_t wall = base.wall_us + step;
            const ClockAnchor moved = anchor_at(base, wall);
            ASSERT_LE(moved.wall_us, wall);
            ASSERT_LT(static_cast<double>(wall - moved.wall_us), 1000.0 / scale + 1.0);
            for (const std::int64_t t : {base.sim_ms, moved.sim_ms, moved.sim_ms + 12'345})
                ASSERT_LE(std::abs(due_wall_us(moved, t) - due_wall_us(base, t)), 1.0)
                    << "scale " << scale << " step " << step << " t " << t;
        }
    }
}

TEST(Clock, AnUnpacedClockIsAnchoredAtTheInstantItself) {
    const ClockAnchor a{1000, 5'000'000, 0.0};
    const ClockAnchor b = anchor_at(a, 9'000'000);
    EXPECT_EQ(b.sim_ms, 1000);
    EXPECT_EQ(b.wall_us, 9'000'000);
    EXPECT_EQ(b.scale, 0.0);
}

TEST(Clock, LatenessIsTheReceptionAfterTheDueInstant) {
    const ClockAnchor a{1000, 5'000'000, 1.0};
    EXPECT_EQ(lateness_us(a, 1002, 5'002'250), 250);
    EXPECT_EQ(lateness_us(a, 1002, 5'001'900), -100);
    const ClockAnchor fast{1000, 5'000'000, 4.0};
    EXPECT_EQ(lateness_us(fast, 1004, 5'001'000), 0);
    EXPECT_EQ(lateness_us(fast, 1001, 5'000'300), 50);
}

}  // namespace
}  // namespace streambed::engine
