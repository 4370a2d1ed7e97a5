// scenario_robustness_test.cpp: the scenario parser on damaged input — a library file cut short
// anywhere is a syntax error with its line and column, random corruption never throws and always
// gives exactly one of a scenario or an error, a number no double holds is named with its place
// (found by the scenario fuzzer) — and docs/scenarios.md in step with kMetrics.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "runner/scenario_metrics.hpp"
#include "runner/scenario_parse.hpp"

#ifndef STREAMBED_SOURCE_DIR
#error "STREAMBED_SOURCE_DIR must name the repository root"
#endif

namespace streambed::runner {
namespace {

std::string read_source(const std::filesystem::path& relative) {
    std::ifstream in(std::filesystem::path(STREAMBED_SOURCE_DIR) / relative);
    EXPECT_TRUE(in) << relative;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(ScenarioRobustness, TruncatedAnywhereIsASyntaxError) {
    const std::string full = read_source("scenarios/slow-consumer.json");
    ASSERT_TRUE(parse_scenario(full).scenario);
    const std::size_t last = full.rfind('}');
    for (std::size_t n = 0; n <= last; ++n) {
        const auto r = parse_scenario(full.substr(0, n));
        ASSERT_FALSE(r.scenario) << "a prefix of " << n << " bytes parsed";
        EXPECT_NE(r.error.find("syntax error"), std::string::npos) << n << ": " << r.error;
        EXPECT_EQ(r.error.rfind("line ", 0), 0u) << r.error;
    }
}

// fuzz/scenario_fuzz.cpp found this: nlohmann's out_of_range (406) escaped the syntax-error
// handling and was reported as "internal error while reading the scenario".
TEST(ScenarioRobustness, ANumberTooLargeForADoubleIsNamedWithItsPlace) {
    const auto r =
        parse_scenario("{\n  \"name\": \"x\",\n  \"duration\": 2e99999,\n  \"groups\": []\n}");
    ASSERT_FALSE(r.scenario);
    EXPECT_EQ(r.error, "line 3, column 15: the number 2e99999 is out of range");
    // The fuzzer's own input: a long number, shown shortened.
    const auto long_number =
        parse_scenario("[222222222222222222220000000e" + std::string(90, '0') + "91969755]");
    EXPECT_EQ(long_number.error.find("internal error"), std::string::npos) << long_number.error;
    EXPECT_EQ(long_number.error.rfind("line 1, column 2: the number 2222222222222222222200000", 0),
              0u)
        << long_number.error;
}

TEST(ScenarioRobustness, CorruptionNeverThrowsAndGivesExactlyOneResult) {
    for (const char* file : {"scenarios/connection-limit.json", "scenarios/misbehaving.json"}) {
        const std::string full = read_source(file);
        const std::string replacements = "\"{}[],:0-9.e-+ a\\/*%";
        std::uint64_t state = 12345;
        auto next = [&] {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            return state >> 33;
        };
        for (int i = 0; i < 2000; ++i) {
            std::string text = full;
            for (int k = 0; k < 1 + static_cast<int>(next() % 3); ++k)
                text[next() % text.size()] = replacements[next() % replacements.size()];
            ParseResult r;
            ASSERT_NO_THROW(r = parse_scenario(text));
            EXPECT_NE(r.scenario.has_value(), !r.error.empty()) << text;
            EXPECT_EQ(r.error.find("internal error"), std::string::npos) << r.error;
        }
    }
}

TEST(ScenarioRobustness, TheDocsListEveryMetric) {
    const std::string doc = read_source("docs/scenarios.md");
    for (const auto& m : kMetrics)
        EXPECT_NE(
            doc.find("| `" + std::string(m.name) + "` | " + std::string(kind_name(m.kind)) + " |"),
            std::string::npos)
            << "docs/scenarios.md has no row for " << m.name;
}

}  // namespace
}  // namespace streambed::runner
