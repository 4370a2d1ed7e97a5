// options_parse_test.cpp: parse_duration with ms/s/m suffixes, bare milliseconds, refusals.
#include "app/options_parse.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string_view>

namespace streambed::app {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsEachUnit) {
    EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
    EXPECT_EQ(parse_duration("2s"), milliseconds(2000));
    EXPECT_EQ(parse_duration("1m"), milliseconds(60'000));
}

TEST(ParseDuration, AcceptsFractions) {
    EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
    EXPECT_EQ(parse_duration("0.25s"), milliseconds(250));
    EXPECT_EQ(parse_duration("1.5m"), milliseconds(90'000));
}

TEST(ParseDuration, BareNumberIsMilliseconds) {
    EXPECT_EQ(parse_duration("100"), milliseconds(100));
    EXPECT_EQ(parse_duration("15000"), milliseconds(15'000));
}

TEST(ParseDuration, AcceptsZero) {
    EXPECT_EQ(parse_duration("0"), milliseconds(0));
    EXPECT_EQ(parse_duration("0s"), milliseconds(0));
    EXPECT_EQ(parse_duration("0ms"), milliseconds(0));
}

TEST(ParseDuration, RefusesMalformedValues) {
    for (std::string_view text :
         {"",    "abc",  "s",  "ms",   "m",   "-1s",    "-5",  "5h",  "5 s",  " 5s",
          "5s ", "5sec", "5S", "5ms5", "2s3", "1e400s", "inf", "nan", "infs", "--1"}) {
        SCOPED_TRACE(text);
        EXPECT_FALSE(parse_duration(text).has_value());
    }
}

TEST(ParseDuration, RefusesAbsurdlyLargeValues) {
    EXPECT_FALSE(parse_duration("1e400s").has_value()) << "out of range for a double";
    EXPECT_FALSE(parse_duration("99999999999999999m").has_value());
}

TEST(ParseDuration, DoesNotReadPastTheView) {
    // The view "2s" sits inside "2s0": only the view's characters count.
    constexpr std::string_view whole = "2s0";
    EXPECT_EQ(parse_duration(whole.substr(0, 2)), milliseconds(2000));
    EXPECT_EQ(parse_duration(whole.substr(0, 1)), milliseconds(2));
}

}  // namespace
}  // namespace streambed::app
