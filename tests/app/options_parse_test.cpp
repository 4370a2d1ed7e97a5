// options_parse_test.cpp: parse_duration with ms/s/m suffixes, bare milliseconds, refusals;
// ws:// and wss:// targets; every limit of the server set from its `serve` option.
#include "app/options_parse.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "app/server_runner.hpp"

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

// Each limit of docs/robustness.md reaches ServerOptions from its option (the engine's tests
// show what each does); values outside the documented ranges are refused by name.
// ws:// and wss:// targets, with or without an endpoint's path; the brackets of IPv6 hold no path.
TEST(ParseWsTarget, SchemesAndPaths) {
    std::string error;
    auto t = parse_ws_target("wss://staging.example:443/ws/metrics", error);
    ASSERT_TRUE(t) << error;
    EXPECT_EQ(t->host, "staging.example");
    EXPECT_EQ(t->port, 443);
    EXPECT_TRUE(t->tls);
    EXPECT_EQ(t->path, "/ws/metrics");
    t = parse_ws_target("ws://[::1]:9003/", error);
    ASSERT_TRUE(t) << error;
    EXPECT_EQ(t->host, "::1");
    EXPECT_FALSE(t->tls);
    EXPECT_EQ(t->path, "");
    for (const char* bad :
         {"wss://h:1/api/v11/poll/metrics", "wss://h:1/ws/", "wss://h:1/ws/m?x=1", "https://h:1"}) {
        error.clear();
        EXPECT_FALSE(parse_ws_target(bad, error)) << bad;
        EXPECT_FALSE(error.empty()) << bad;
    }
}

TEST(ServerOptions, EveryLimitIsSetFromItsOption) {
    CLI::App app;
    ServerArgs args;
    add_server_options(&app, args);
    std::vector<std::string> argv = {
        "--max-connections", "7",   "--history",           "50",    "--outbound-limit", "4096",
        "--inbound-limit",   "512", "--max-subscriptions", "9",     "--client-rate",    "2.5",
        "--max-errors",      "3",   "--header-limit",      "4096",  "--body-limit",     "100",
        "--heartbeat",       "2s",  "--handshake-timeout", "750ms", "--drain-timeout",  "0",
        "--coalesce-window", "5ms"};
    std::reverse(argv.begin(), argv.end());  // CLI11 takes them last first
    app.parse(argv);
    apply_durations(args);
    const auto& o = args.options;
    EXPECT_EQ(o.max_connections, 7u);
    EXPECT_EQ(o.history, 50u);
    EXPECT_EQ(o.outbound_limit_bytes, 4096u);
    EXPECT_EQ(o.inbound_limit_bytes, 512u);
    EXPECT_EQ(o.max_subscriptions, 9u);
    EXPECT_EQ(o.client_rate, 2.5);
    EXPECT_EQ(o.max_errors, 3u);
    EXPECT_EQ(o.header_limit_bytes, 4096u);
    EXPECT_EQ(o.body_limit_bytes, 100u);
    EXPECT_EQ(o.heartbeat, std::chrono::seconds(2));
    EXPECT_EQ(o.handshake_timeout, milliseconds(750));
    EXPECT_EQ(o.drain_timeout, milliseconds(0));
    EXPECT_EQ(o.coalesce_window, milliseconds(5));
}

TEST(ServerOptions, DefaultsAreTheEnginesOwn) {
    CLI::App app;
    ServerArgs args;
    add_server_options(&app, args);
    app.parse(std::vector<std::string>{});
    apply_durations(args);
    const engine::ServerOptions defaults;
    EXPECT_EQ(args.options.heartbeat, defaults.heartbeat);
    EXPECT_EQ(args.options.handshake_timeout, defaults.handshake_timeout);
    EXPECT_EQ(args.options.drain_timeout, defaults.drain_timeout);
    EXPECT_EQ(args.options.coalesce_window, defaults.coalesce_window);
}

TEST(ServerOptions, OutOfRangeLimitsAreRefusedByName) {
    const std::vector<std::vector<std::string>> bad = {
        {"--max-subscriptions", "0"},   {"--client-rate", "0"},
        {"--max-errors", "0"},          {"--header-limit", "100"},
        {"--body-limit", "100000000"},  {"--handshake-timeout", "5ms"},
        {"--drain-timeout", "61m"},     {"--handshake-timeout", "soon"},
        {"--coalesce-window", "101ms"}, {"--coalesce-window", "1us"}};
    for (auto argv : bad) {
        SCOPED_TRACE(argv[0] + " " + argv[1]);
        CLI::App app;
        ServerArgs args;
        add_server_options(&app, args);
        const std::string option = argv[0];
        std::reverse(argv.begin(), argv.end());
        try {
            app.parse(argv);
            ADD_FAILURE() << "accepted";
        } catch (const CLI::ParseError& e) {
            EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace streambed::app
