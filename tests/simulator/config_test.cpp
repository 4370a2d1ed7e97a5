// config_test.cpp: simulator configurations — defaults, overrides, and refusals that name the
// field.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "simulator/config.hpp"

namespace streambed::simulator {
namespace {

std::string error_of(const std::string& text) {
    try {
        parse_config(text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

TEST(SimConfig, DefaultsAreTheSpecs) {
    SimConfig c;
    EXPECT_EQ(c.channels, 8);
    EXPECT_EQ(c.validators, 7);
    EXPECT_EQ(c.block_interval_ms, 5000);
    EXPECT_EQ(c.first_block_ms, 3000);
    EXPECT_EQ(c.state_interval_ms, 2000);
    EXPECT_EQ(c.epoch_ms, 1762732800000);
    EXPECT_NO_THROW(validate(c));
}

TEST(SimConfig, FieldsOverrideTheBase) {
    auto c = parse_config(R"({"seed":7,"channels":3,"validators":4,"txPerSecond":12.5,
                              "episodes":{"failedRound":0.5}})");
    EXPECT_EQ(c.seed, 7u);
    EXPECT_EQ(c.channels, 3);
    EXPECT_EQ(c.validators, 4);
    EXPECT_DOUBLE_EQ(c.tx_per_second, 12.5);
    EXPECT_DOUBLE_EQ(c.episodes.failed_round, 0.5);
    EXPECT_DOUBLE_EQ(c.episodes.validator_offline, SimConfig{}.episodes.validator_offline);
}

TEST(SimConfig, BadValuesNameTheField) {
    EXPECT_NE(error_of(R"({"chanels":3})").find("'chanels'"), std::string::npos);
    EXPECT_NE(error_of(R"({"channels":0})").find("'channels'"), std::string::npos);
    EXPECT_NE(error_of(R"({"channels":"8"})").find("'channels'"), std::string::npos);
    EXPECT_NE(error_of(R"({"channels":2.5})").find("'channels'"), std::string::npos);
    EXPECT_NE(error_of(R"({"validators":-1})").find("'validators'"), std::string::npos);
    EXPECT_NE(error_of(R"({"txPerSecond":-3})").find("'txPerSecond'"), std::string::npos);
    EXPECT_NE(error_of(R"({"seed":-1})").find("'seed'"), std::string::npos);
    EXPECT_NE(error_of(R"({"blockIntervalMs":10})").find("'blockIntervalMs'"), std::string::npos);
    EXPECT_NE(error_of(R"({"episodes":{"meteor":0.1}})").find("'episodes.meteor'"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"episodes":{"failedRound":2}})").find("'episodes.failedRound'"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"episodes":3})").find("'episodes'"), std::string::npos);
    EXPECT_NE(error_of("[1,2]").find("object"), std::string::npos);
    EXPECT_NE(error_of("{").find("JSON"), std::string::npos);
}

TEST(SimConfig, FilesAreReadAndMissingOnesRefused) {
    const std::string path = ::testing::TempDir() + "/sim_config_test.json";
    { std::ofstream(path) << R"({"channels":2})"; }
    EXPECT_EQ(load_config(path).channels, 2);
    { std::ofstream(path) << R"({"channels":true})"; }
    try {
        load_config(path);
        ADD_FAILURE() << "accepted a boolean channel count";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("'channels'"), std::string::npos);
    }
    std::remove(path.c_str());
    EXPECT_THROW(load_config(path), ConfigError);
}

TEST(SimConfig, CanonicalJsonRoundTrips) {
    SimConfig c;
    c.seed = 9;
    c.channels = 5;
    auto back = parse_config(to_json(c));
    EXPECT_EQ(to_json(back), to_json(c));
}

}  // namespace
}  // namespace streambed::simulator
