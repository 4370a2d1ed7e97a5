// cli_options_test.cpp: the real `streambed` program's answer to bad input — exit status 2 with
// one line naming the bad option, time scale, configuration file or field — and good
// configuration files and `--time-scale max` taking effect.
#include "tests/app/cli_child.hpp"

namespace streambed::testing {
namespace {

using namespace std::chrono_literals;

// ---- bad options ------------------------------------------------------------------------------
struct BadOptions {
    std::string name;
    std::vector<std::string> args;
    std::vector<std::string> named;  // what the error line must mention
};

void PrintTo(const BadOptions& b, std::ostream* os) {
    *os << b.name;
}

class CliBadOptions : public ::testing::TestWithParam<BadOptions> {};

TEST_P(CliBadOptions, ExitTwoWithOneLineNamingTheProblem) {
    const auto& p = GetParam();
    Child c(p.args);
    expect_refused(c, p.named);
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliBadOptions,
    ::testing::Values(
        BadOptions{"NoCommand", {}, {"command"}}, BadOptions{"UnknownCommand", {"frob"}, {"frob"}},
        BadOptions{"UnknownOptionBeforeCommand", {"--bogus"}, {"--bogus"}},
        BadOptions{"UnknownOption", {"serve", "--port", "0", "--bogus"}, {"--bogus"}},
        BadOptions{"StrayArgument", {"serve", "--port", "0", "extra"}, {"extra"}},
        BadOptions{"PortNotANumber", {"serve", "--port", "abc"}, {"--port", "abc"}},
        BadOptions{"PortOutOfRange", {"serve", "--port", "70000"}, {"--port", "70000"}},
        BadOptions{"NegativeTimeScale",
                   {"serve", "--port", "0", "--time-scale", "-1"},
                   {"--time-scale", "-1"}},
        BadOptions{"HeartbeatBadUnit",
                   {"serve", "--port", "0", "--heartbeat", "5x"},
                   {"--heartbeat", "5x"}},
        BadOptions{
            "HeartbeatTooShort", {"serve", "--port", "0", "--heartbeat", "5ms"}, {"--heartbeat"}},
        BadOptions{"MaxSubscriptionsZero",
                   {"serve", "--port", "0", "--max-subscriptions", "0"},
                   {"--max-subscriptions"}},
        BadOptions{"HandshakeTimeoutBadUnit",
                   {"serve", "--port", "0", "--handshake-timeout", "5x"},
                   {"--handshake-timeout", "5x"}},
        BadOptions{"HeaderLimitTooSmall",
                   {"serve", "--port", "0", "--header-limit", "10"},
                   {"--header-limit", "10"}},
        BadOptions{"TlsCertificateMissing",
                   {"serve", "--port", "0", "--tls-cert", "/nonexistent/cert.pem", "--tls-key",
                    "/nonexistent/key.pem"},
                   {"/nonexistent/cert.pem"}},
        BadOptions{"TlsKeyWithoutCertificate",
                   {"serve", "--port", "0", "--tls-key", (tls_fixtures() / "key.pem").string()},
                   {"--tls-cert"}},
        BadOptions{"ReplayOfAMissingFile",
                   {"replay", "/nonexistent/run.db", "--port", "0"},
                   {"/nonexistent/run.db"}},
        BadOptions{"ReplayBadSpeed",
                   {"replay", "/nonexistent/run.db", "--speed", "fast"},
                   {"--speed", "fast"}},
        BadOptions{
            "InspectOfAMissingFile", {"inspect", "/nonexistent/run.db"}, {"/nonexistent/run.db"}},
        BadOptions{
            "VerifyOfAMissingFile", {"verify", "/nonexistent/run.db"}, {"/nonexistent/run.db"}},
        BadOptions{"VerifyWithoutAFile", {"verify"}, {"file"}},
        BadOptions{"VerifyRunNotANumber",
                   {"verify", "/nonexistent/run.db", "--run", "last"},
                   {"--run", "last"}},
        BadOptions{"VerifyBadTolerance",
                   {"verify", "/nonexistent/run.db", "--tolerance", "soon"},
                   {"--tolerance", "soon"}},
        BadOptions{"ExportUnknownFormat",
                   {"export", "/nonexistent/run.db", "--format", "pcap"},
                   {"--format", "pcap"}},
        BadOptions{"BenchBadTarget", {"bench", "--target", "http://127.0.0.1:1"}, {"--target"}},
        BadOptions{"FloodRateZero", {"serve", "--port", "0", "--flood", "0"}, {"--flood", "0"}},
        BadOptions{"FloodRateNotANumber",
                   {"serve", "--port", "0", "--flood", "lots"},
                   {"--flood", "lots"}},
        BadOptions{"BenchBadRate", {"bench", "--rate", "-5"}, {"--rate", "-5"}},
        BadOptions{"RecordIntoAnUnwritablePlace",
                   {"serve", "--port", "0", "--record", "/proc/self/cannot-write-here.db"},
                   {"/proc/self/cannot-write-here.db"}}),
    [](const ::testing::TestParamInfo<BadOptions>& p) { return p.param.name; });

// ---- bad time scales and simulator configurations ---------------------------------------------

class CliBadTimeScale : public ::testing::TestWithParam<std::string> {};

TEST_P(CliBadTimeScale, ExitTwoWithAShortLineNamingTheOption) {
    Child c({"serve", "--port", "0", "--time-scale", GetParam()});
    const auto err = expect_refused(c, {"--time-scale", "'" + GetParam() + "'"});
    EXPECT_LE(err.size(), 120u) << "not short: " << err;
}

INSTANTIATE_TEST_SUITE_P(Cli, CliBadTimeScale,
                         ::testing::Values("0", "-1", "abc", "0.0", "inf", "max2"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                             std::string name;
                             for (char ch : p.param)
                                 name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                             return "Value_" + name;
                         });

struct BadConfig {
    std::string name;
    std::optional<std::string> content;  // nullopt: the file does not exist
    std::vector<std::string> named;      // what the error line must mention, besides the file
};

void PrintTo(const BadConfig& b, std::ostream* os) {
    *os << b.name;
}

class CliBadConfig : public ::testing::TestWithParam<BadConfig> {};

TEST_P(CliBadConfig, ExitTwoWithOneLineNamingTheFileAndField) {
    const auto& p = GetParam();
    // Its own file per process (ctest runs tests in parallel), removed however the test ends.
    struct File {
        std::string path;
        ~File() { std::filesystem::remove(path); }
    } file{::testing::TempDir() + "cli_bad_config_" + p.name + "-" + std::to_string(::getpid()) +
           ".json"};
    const auto& path = file.path;
    std::filesystem::remove(path);
    if (p.content) {
        std::ofstream(path) << *p.content;
    }
    Child c({"serve", "--port", "0", "--config", path});
    auto named = p.named;
    named.push_back(path);  // the file is named too
    expect_refused(c, named);
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliBadConfig,
    ::testing::Values(
        BadConfig{"UnknownField", R"({"channels":4,"chanels":3})", {"'chanels'"}},
        BadConfig{"UnknownEpisodeField", R"({"episodes":{"meteor":0.1}})", {"'episodes.meteor'"}},
        BadConfig{"WrongType", R"({"channels":"8"})", {"'channels'"}},
        BadConfig{"WrongTypeFraction", R"({"validators":2.5})", {"'validators'"}},
        BadConfig{"OutOfRange", R"({"blockIntervalMs":10})", {"'blockIntervalMs'"}},
        BadConfig{"OutOfRangeProbability",
                  R"({"episodes":{"failedRound":1.5}})",
                  {"'episodes.failedRound'"}},
        BadConfig{"NegativeSeed", R"({"seed":-1})", {"'seed'"}},
        BadConfig{"NotJson", "{\"channels\": 8,", {"JSON"}},
        BadConfig{"NotAnObject", "[1, 2]", {"object"}}, BadConfig{"Empty", "", {"JSON"}},
        BadConfig{"Missing", std::nullopt, {"cannot read"}}),
    [](const ::testing::TestParamInfo<BadConfig>& p) { return p.param.name; });

// A good configuration file is used: its sizes show in the welcome's channel list.
TEST(CliServe, ConfigFileShapesTheWorld) {
    const std::string path = ::testing::TempDir() + "cli_good_config.json";
    std::ofstream(path) << R"({"channels":3,"validators":4,"episodes":{"failedRound":0}})";
    auto s = start_serve({"--config", path, "--time-scale", "50"});
    std::filesystem::remove(path);
    WsClient channels(s.port, "/ws/channels");
    const json welcome = channels.read_json();
    EXPECT_EQ(welcome["channels"], json::array({"ch-1", "ch-2", "ch-3"})) << welcome.dump();
    WsClient validators(s.port, "/ws/validators");
    EXPECT_EQ(validators.read_json()["channels"],
              json::array({"val-1", "val-2", "val-3", "val-4"}));
}

// --time-scale max: unpaced, as fast as the world can be generated; the server still serves.
TEST(CliServe, TimeScaleMaxStartsAndServes) {
    auto s = start_serve({"--time-scale", "max"});
    ASSERT_TRUE(s.child->running());
    const HttpResult health = wait_healthy(s.port);
    EXPECT_EQ(health.status, 200) << health.body;

    WsClient c(s.port, "/ws/metrics");
    const json welcome = c.read_json();
    ASSERT_EQ(welcome["type"], "welcome") << welcome.dump();
    EXPECT_EQ(welcome["clock"]["scale"].get<double>(), 0.0) << "scale 0 announces an unpaced run";
    std::uint64_t last_seq = 0;
    for (int i = 0; i < 20; ++i) {
        const json j = c.read_json();
        ASSERT_TRUE(is_data(j)) << j.dump();
        ASSERT_EQ(j["type"], "metrics") << j.dump();
        const auto seq = j["seq"].get<std::uint64_t>();
        EXPECT_GT(seq, last_seq) << j.dump();
        // The default cadence: metrics n at the epoch + 2 s x n, however fast the run.
        EXPECT_EQ(j["time"].get<std::int64_t>(), kEpochMs + 2000 * static_cast<std::int64_t>(seq))
            << j.dump();
        last_seq = seq;
    }
    c.close();

    s.child->send_signal(SIGTERM);
    auto st = s.child->wait_exit(10s);
    ASSERT_TRUE(st) << "no exit within 10 s of SIGTERM";
    EXPECT_TRUE(exited_with(*st, 0)) << describe_status(*st) << "; stderr: " << s.child->err();
}

}  // namespace
}  // namespace streambed::testing
