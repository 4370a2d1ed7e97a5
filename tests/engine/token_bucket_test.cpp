// token_bucket_test.cpp: a client's message rate — a burst of twice the rate, then the rate.
#include "engine/token_bucket.hpp"

#include <gtest/gtest.h>

namespace streambed::engine {
namespace {

TEST(TokenBucket, AllowsABurstOfTwiceTheRateThenTheRate) {
    TokenBucket bucket(10, 0);
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(bucket.take(0)) << i;
    EXPECT_FALSE(bucket.take(0));
    EXPECT_FALSE(bucket.take(50'000));  // half a token back
    EXPECT_TRUE(bucket.take(100'000));  // one more after a tenth of a second
    EXPECT_FALSE(bucket.take(100'000));
}

TEST(TokenBucket, NeverHoldsMoreThanTheBurst) {
    TokenBucket bucket(5, 0);
    int taken = 0;
    while (bucket.take(3'600'000'000)) ++taken;  // an hour idle
    EXPECT_EQ(taken, 10);
}

}  // namespace
}  // namespace streambed::engine
