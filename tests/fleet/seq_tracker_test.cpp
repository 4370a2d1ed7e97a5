// seq_tracker_test.cpp: distinct, duplicate, missing and filled seqs, and why each hole is there.
#include "fleet/seq_tracker.hpp"

#include <gtest/gtest.h>

namespace streambed::fleet {
namespace {

TEST(SeqTracker, InOrderHasNothingMissing) {
    SeqTracker t;
    for (std::uint64_t s = 5; s <= 100; ++s) EXPECT_TRUE(t.receive(s, HoleKind::gap));
    const auto c = t.counts(100);
    EXPECT_EQ(c.distinct, 96u);
    EXPECT_EQ(c.expected, 96u);
    EXPECT_EQ(c.gaps + c.duplicates + c.conflated + c.declared, 0u);
}

TEST(SeqTracker, JumpsAreHolesOfTheirKind) {
    SeqTracker t;
    t.receive(1, HoleKind::gap);
    t.receive(4, HoleKind::gap);         // 2, 3 missing
    t.receive(10, HoleKind::conflated);  // 5..9 conflated
    t.receive(12, HoleKind::declared);   // 11 declared
    const auto c = t.counts(12);
    EXPECT_EQ(c.gaps, 2u);
    EXPECT_EQ(c.conflated, 5u);
    EXPECT_EQ(c.declared, 1u);
    EXPECT_EQ(c.distinct, 4u);
    EXPECT_EQ(c.expected, 12u);
}

TEST(SeqTracker, LateArrivalsFillHolesAndRepeatsAreDuplicates) {
    SeqTracker t;
    t.receive(1, HoleKind::gap);
    t.receive(6, HoleKind::gap);  // 2..5
    EXPECT_TRUE(t.receive(3, HoleKind::gap));
    EXPECT_TRUE(t.receive(2, HoleKind::gap));
    EXPECT_TRUE(t.receive(5, HoleKind::gap));
    EXPECT_FALSE(t.receive(3, HoleKind::gap));
    EXPECT_FALSE(t.receive(6, HoleKind::gap));
    const auto c = t.counts(6);
    EXPECT_EQ(c.gaps, 1u);  // 4
    EXPECT_EQ(c.duplicates, 2u);
    EXPECT_EQ(c.distinct, 5u);
}

TEST(SeqTracker, TheTailBeforeTheEndIsMissing) {
    SeqTracker t;
    t.receive(1, HoleKind::gap);
    t.receive(2, HoleKind::gap);
    const auto c = t.counts(10);
    EXPECT_EQ(c.gaps, 8u);
    EXPECT_EQ(c.expected, 10u);
    EXPECT_EQ(t.counts(0).gaps, 0u);  // an end before the last seq adds nothing
}

TEST(SeqTracker, HolesBeyondTheBoundStillCount) {
    SeqTracker t;
    std::uint64_t s = 1;
    for (std::size_t i = 0; i < SeqTracker::kMaxHoles + 10; ++i, s += 2)
        t.receive(s, HoleKind::gap);
    EXPECT_EQ(t.counts(s - 2).gaps, SeqTracker::kMaxHoles + 9);
}

}  // namespace
}  // namespace streambed::fleet
