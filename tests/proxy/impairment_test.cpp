// impairment_test.cpp: the JSON form of an impairment — round trip, units, and errors that
// name the bad field; the per-connection seeds of the jitter generators.
#include <gtest/gtest.h>

#include "proxy/impairment.hpp"
#include "proxy/pipe.hpp"

namespace streambed::proxy {
using json = nlohmann::json;

namespace {

using namespace std::chrono_literals;

TEST(ImpairmentJson, ParsesEveryField) {
    std::string error;
    auto i = impairment_from_json(
        json::parse(R"({"name":"lag","direction":"downstream","latency":"100ms",
        "jitter":"2.5ms","bandwidth":"100KB/s","stall":true,"reset":false,"slice":64,"slice_delay":"250us",
        "limit_data":1000,"drop_after_frames":3,"hold_stream":"ch-1"})"),
        error);
    ASSERT_TRUE(i) << error;
    EXPECT_EQ(i->name, "lag");
    EXPECT_EQ(i->direction, Direction::downstream);
    EXPECT_EQ(i->latency, 100ms);
    EXPECT_EQ(i->jitter, 2500us);
    EXPECT_DOUBLE_EQ(i->bandwidth, 100'000);
    EXPECT_TRUE(i->stall);
    EXPECT_EQ(i->slice, 64u);
    EXPECT_EQ(i->slice_delay, 250us);
    EXPECT_EQ(i->limit_data, 1000u);
    EXPECT_EQ(i->drop_after_frames, 3u);
    EXPECT_EQ(i->hold_stream, "ch-1");
    auto again = impairment_from_json(to_json(*i), error);
    ASSERT_TRUE(again) << error;
    EXPECT_EQ(to_json(*again), to_json(*i));
}

TEST(ImpairmentJson, Units) {
    EXPECT_EQ(parse_duration_us("2s"), std::chrono::microseconds(2'000'000));
    EXPECT_EQ(parse_duration_us("15"), std::chrono::microseconds(15'000));
    EXPECT_FALSE(parse_duration_us("fast"));
    EXPECT_FALSE(parse_duration_us("-1ms"));
    EXPECT_EQ(parse_bandwidth("50KB/s"), 50'000);
    EXPECT_EQ(parse_bandwidth("1MiB/s"), 1024.0 * 1024);
    EXPECT_EQ(parse_bandwidth("300"), 300);
    EXPECT_FALSE(parse_bandwidth("lots"));
    EXPECT_EQ(format_duration(std::chrono::microseconds(1500)), "1500us");
    EXPECT_EQ(format_duration(std::chrono::microseconds(2'000'000)), "2s");
}

TEST(ImpairmentJson, ErrorsNameTheField) {
    const std::vector<std::pair<std::string, std::string>> bad{
        {R"({"name":"a","latency":"fast"})", "latency"},
        {R"({"name":"a","jitter":true})", "jitter"},
        {R"({"name":"a","bandwidth":"lots"})", "bandwidth"},
        {R"({"name":"a","direction":"sideways"})", "direction"},
        {R"({"name":"a","stall":"yes"})", "stall"},
        {R"({"name":"a","limit_data":-5})", "limit_data"},
        {R"({"name":"a","hold_stream":7})", "hold_stream"},
        {R"({"name":"a","colour":"red"})", "colour"},
        {R"({"latency":"1ms"})", "name"},
        {R"({"name":"a b"})", "name"},
    };
    for (const auto& [text, field] : bad) {
        std::string error;
        EXPECT_FALSE(impairment_from_json(json::parse(text), error)) << text;
        EXPECT_NE(error.find("'" + field + "'"), std::string::npos) << text << " -> " << error;
    }
}

TEST(DrawSeed, DependsOnEveryPart) {
    const auto base = draw_seed(42, "g/1/0", Direction::downstream, "lag");
    EXPECT_EQ(base, draw_seed(42, "g/1/0", Direction::downstream, "lag"));
    EXPECT_NE(base, draw_seed(43, "g/1/0", Direction::downstream, "lag"));
    EXPECT_NE(base, draw_seed(42, "g/1/1", Direction::downstream, "lag"));
    EXPECT_NE(base, draw_seed(42, "g/1/0", Direction::upstream, "lag"));
    EXPECT_NE(base, draw_seed(42, "g/1/0", Direction::downstream, "lag2"));
}

}  // namespace
}  // namespace streambed::proxy
