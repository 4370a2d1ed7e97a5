// scenario_text.hpp: small scenario texts for the parser's tests — one that must parse, one that
// must fail with a given fragment in its error, and a minimal valid scenario to add fields to.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "runner/scenario_parse.hpp"

namespace streambed::runner {

inline Scenario parse_ok(std::string_view text) {
    auto r = parse_scenario(text);
    EXPECT_TRUE(r.scenario) << r.error;
    EXPECT_EQ(r.error, "");
    return r.scenario ? *r.scenario : Scenario{};
}

// The error of a scenario that must fail, checked to contain `fragment`.
inline void expect_error(std::string_view text, const std::string& fragment) {
    auto r = parse_scenario(text);
    ASSERT_FALSE(r.scenario) << "parsed, expected an error containing: " << fragment;
    EXPECT_NE(r.error.find(fragment), std::string::npos)
        << "error: " << r.error << "\nexpected: " << fragment;
}

// A minimal valid scenario with `extra` inserted among the top-level fields, and `group` as its
// one group's extra fields.
inline std::string minimal(const std::string& extra = "", const std::string& group = "") {
    return R"({"name": "t", "duration": "60s", "groups": [{"name": "g")" +
           (group.empty() ? "" : ", " + group) + "}]" + (extra.empty() ? "" : ", " + extra) + "}";
}

}  // namespace streambed::runner
