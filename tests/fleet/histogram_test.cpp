// histogram_test.cpp: the log-linear histogram's buckets, percentiles and merging.
#include "fleet/histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace streambed::fleet {
namespace {

TEST(Histogram, EveryValueLandsInABucketThatContainsIt) {
    for (std::uint64_t v : {0ULL, 1ULL, 255ULL, 256ULL, 257ULL, 511ULL, 512ULL, 1000ULL, 123456ULL,
                            999999999ULL, (1ULL << 39) + 12345}) {
        const auto i = Histogram::index_of(v);
        ASSERT_LT(i, Histogram::kBuckets) << v;
        EXPECT_LE(Histogram::lowest_of(i), v) << v;
        EXPECT_GE(Histogram::highest_of(i), v) << v;
    }
}

TEST(Histogram, BucketsTileTheRangeWithoutHolesOrOverlaps) {
    for (std::size_t i = 1; i + 1 < Histogram::kBuckets - 128; ++i)
        ASSERT_EQ(Histogram::lowest_of(i), Histogram::highest_of(i - 1) + 1) << i;
}

TEST(Histogram, PercentilesAreWithinOnePercentOfTheExactOnes) {
    Histogram h;
    for (std::int64_t v = 1; v <= 100000; ++v) h.record(v * 7);  // 7 .. 700,000
    EXPECT_EQ(h.count(), 100000u);
    for (double p : {50.0, 90.0, 99.0, 99.9}) {
        const double exact = p / 100.0 * 100000 * 7;
        EXPECT_NEAR(static_cast<double>(h.percentile(p)), exact, exact * 0.01) << p;
    }
    EXPECT_EQ(h.percentile(100), 700000);
    EXPECT_EQ(h.max(), 700000);
}

TEST(Histogram, SmallValuesAreExact) {
    Histogram h;
    for (int i = 0; i < 99; ++i) h.record(10);
    h.record(200);
    EXPECT_EQ(h.percentile(50), 10);
    EXPECT_EQ(h.percentile(99), 10);
    EXPECT_EQ(h.percentile(100), 200);
}

TEST(Histogram, NegativesCountAsZeroAndAreCounted) {
    Histogram h;
    h.record(-5);
    h.record(3);
    EXPECT_EQ(h.negatives(), 1u);
    EXPECT_EQ(h.percentile(0), 0);
    EXPECT_EQ(h.count(), 2u);
}

TEST(Histogram, MergeAddsCounts) {
    Histogram a, b;
    for (int i = 0; i < 100; ++i) a.record(1000);
    for (int i = 0; i < 100; ++i) b.record(5000);
    a.merge(b);
    EXPECT_EQ(a.count(), 200u);
    EXPECT_NEAR(static_cast<double>(a.percentile(25)), 1000, 10);
    EXPECT_NEAR(static_cast<double>(a.percentile(75)), 5000, 50);
    EXPECT_EQ(a.max(), 5000);
    Histogram empty;
    EXPECT_EQ(empty.percentile(99), 0);
}

// A window: what was recorded after a copy was taken, and only that.
TEST(Histogram, SinceIsWhatWasRecordedAfterTheCopy) {
    Histogram h;
    for (int i = 0; i < 100; ++i) h.record(90'000);  // before the window: large values
    h.record(-5);
    const Histogram before = h;
    for (int i = 0; i < 50; ++i) h.record(1000 + i);
    h.record(-1);
    const Histogram window = h.since(before);
    EXPECT_EQ(window.count(), 51u);
    EXPECT_EQ(window.negatives(), 1u);
    EXPECT_NEAR(static_cast<double>(window.max()), 1049, 1049 * 0.008);  // to its bucket
    EXPECT_LT(window.percentile(99), 1100);
    EXPECT_EQ(h.since(h).count(), 0u);
}

}  // namespace
}  // namespace streambed::fleet
