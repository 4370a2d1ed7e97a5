// cli_test.cpp: the real `streambed` program run as a child process — the listening line, health
// and WebSocket data, SIGTERM/SIGINT (close 1001, exit 0), exit status 2 with a one-line error on
// bad options, time scales and simulator configuration files, `--config` and `--time-scale max`
// runs, and byte-identical data messages across two runs with the same seed.
// Every wait has a deadline; every child is killed and reaped by its owner's destructor.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kEpochMs = 1762732800000;  // the demo source's fixed epoch

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "wait status " + std::to_string(status);
}

bool exited_with(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

// `streambed ARGS...` as a child process.
class Child : public ChildProcess {
public:
    explicit Child(const std::vector<std::string>& args) : ChildProcess(STREAMBED_BINARY, args) {}
};

// A `serve` child on a free port, past its listening line.
struct Serving {
    std::unique_ptr<Child> child;
    std::string line;
    std::string scheme;  // http or https
    std::uint16_t port = 0;
};

// True once the process has handlers installed for both SIGINT and SIGTERM (/proc's SigCgt).
bool catches_stop_signals(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (!line.starts_with("SigCgt:")) continue;
        const auto mask = std::stoull(line.substr(7), nullptr, 16);
        const auto wanted = (1ull << (SIGINT - 1)) | (1ull << (SIGTERM - 1));
        return (mask & wanted) == wanted;
    }
    return false;
}

// How far start_serve() waits past the listening line.
enum class Wait {
    line,   // nothing more: what a script sees
    ready,  // also until the source's streams exist and SIGINT/SIGTERM are handled
};

Serving start_serve(std::vector<std::string> extra, Wait wait = Wait::ready) {
    std::vector<std::string> args{"serve", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    Serving s;
    s.child = std::make_unique<Child>(args);
    auto line = s.child->next_line(10s);
    if (!line) {
        throw std::runtime_error("no listening line within 10 s; stderr: " + s.child->err());
    }
    static const std::regex kLine(R"(listening on (https?)://127\.0\.0\.1:([0-9]{1,5}))");
    std::smatch m;
    if (!std::regex_match(*line, m, kLine)) throw std::runtime_error("unexpected first line: " + *line);
    const int port = std::stoi(m[2].str());
    if (port <= 0 || port > 65535) throw std::runtime_error("not a real port: " + *line);
    s.line = *line;
    s.scheme = m[1].str();
    s.port = static_cast<std::uint16_t>(port);
    if (wait == Wait::ready) {
        // The listening line can come before the source has declared its streams and before the
        // signal handlers are installed (both reported; the *RightAfterTheListeningLine* tests
        // cover them). The other tests wait for both, so that each checks its own concern: the
        // streams they use are pollable (unknown ones answer 400).
        const bool ready = wait_until([&] {
            return catches_stop_signals(s.child->pid()) &&
                   http_get(s.port, "/api/v11/poll/metrics?channels=metrics").status == 200 &&
                   http_get(s.port, "/api/v11/poll/channels?channels=ch-1").status == 200;
        }, 10s);
        if (!ready) throw std::runtime_error("streams or signal handlers missing 10 s after: " + *line);
    }
    return s;
}

bool is_data(const json& j) { return j.is_object() && j.contains("seq") && j.contains("data"); }

// ---- serve: the listening line, health, data --------------------------------------------------

TEST(CliServe, PrintsOneListeningLineThenServesHealthAndMetrics) {
    auto s = start_serve({"--time-scale", "20"});
    // The line was read while the program runs: it is flushed, not buffered until exit.
    ASSERT_TRUE(s.child->running());
    EXPECT_EQ(s.scheme, "http");

    HttpResult health;
    EXPECT_TRUE(wait_until([&] {
        health = http_get(s.port, "/q/health");
        return health.status == 200;
    })) << health.status << " " << health.body;
    EXPECT_EQ(health.body_json()["status"], "UP");

    WsClient c(s.port, "/ws/metrics");
    const json welcome = c.read_json();
    ASSERT_EQ(welcome["type"], "welcome") << welcome.dump();
    EXPECT_EQ(welcome["endpoint"], "/ws/metrics");
    ASSERT_TRUE(welcome["clock"].is_object()) << welcome.dump();
    EXPECT_TRUE(welcome["clock"]["time"].is_number_integer());
    EXPECT_GE(welcome["clock"]["time"].get<std::int64_t>(), kEpochMs);
    EXPECT_TRUE(welcome["clock"]["wall"].is_number_integer());
    EXPECT_EQ(welcome["clock"]["scale"].get<double>(), 20.0);

    // The snapshot (if the first tick has happened), then live messages: seq consecutive.
    std::vector<json> data;
    while (data.size() < 4) {
        json j = c.read_json();
        ASSERT_TRUE(is_data(j)) << j.dump();
        ASSERT_EQ(j["type"], "metrics") << j.dump();
        EXPECT_EQ(j["channel"], "metrics");
        EXPECT_GE(j["time"].get<std::int64_t>(), kEpochMs);
        for (const char* f : {"tps", "txTotal", "blockHeight", "cpuPercent", "memoryMb"})
            EXPECT_TRUE(j["data"].contains(f)) << f << " missing in " << j.dump();
        data.push_back(std::move(j));
    }
    for (std::size_t i = 2; i < data.size(); ++i)
        EXPECT_EQ(data[i]["seq"].get<std::uint64_t>(), data[i - 1]["seq"].get<std::uint64_t>() + 1);
    c.close();

    s.child->send_signal(SIGTERM);
    auto st = s.child->wait_exit(10s);
    ASSERT_TRUE(st) << "no exit within 10 s of SIGTERM";
    EXPECT_TRUE(exited_with(*st, 0)) << describe_status(*st) << "; stderr: " << s.child->err();
    EXPECT_EQ(s.child->out(), s.line + "\n") << "stdout must hold exactly the listening line";
}

// A client that connects as soon as the line is printed finds every stream and gets its data.
TEST(CliServe, ClientRightAfterTheListeningLineIsServed) {
    for (int i = 0; i < 20; ++i) {
        auto s = start_serve({"--time-scale", "100"}, Wait::line);
        WsClient c(s.port, "/ws/metrics");
        const json welcome = c.read_json();
        ASSERT_EQ(welcome["channels"], json::array({"metrics"})) << "attempt " << i << ": " << welcome.dump();
        const json first = c.read_json();  // the first tick is 20 ms of wall time away
        ASSERT_EQ(first["type"], "metrics") << "attempt " << i << ": " << first.dump();
    }
}

TEST(CliServe, PortInUseExitsTwoNamingTheAddress) {
    // Hold a listening socket on a free port, then ask the server for that port.
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0) << errno_text("socket");
    std::unique_ptr<int, void (*)(int*)> guard(new int(fd), [](int* p) {
        ::close(*p);
        delete p;
    });
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << errno_text("bind");
    ASSERT_EQ(::listen(fd, 4), 0) << errno_text("listen");
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const std::string port = std::to_string(ntohs(addr.sin_port));

    Child c({"serve", "--port", port});
    auto st = c.wait_exit(10s);
    ASSERT_TRUE(st) << "still running on a taken port";
    EXPECT_TRUE(exited_with(*st, 2)) << describe_status(*st);
    const std::string err = c.err();
    EXPECT_NE(err.find("127.0.0.1:" + port), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_EQ(c.out(), "");
}

// The test certificate of fixtures/tls, found from this file's path (tests/app/cli_test.cpp).
std::filesystem::path tls_fixtures() { return std::filesystem::path(STREAMBED_FIXTURES) / "tls"; }

TEST(CliServe, WithCertificateAndKeyListensOnHttps) {
    const auto dir = tls_fixtures();
    ASSERT_TRUE(std::filesystem::exists(dir / "cert.pem")) << dir / "cert.pem";
    auto s = start_serve({"--tls-cert", (dir / "cert.pem").string(), "--tls-key", (dir / "key.pem").string()},
                         Wait::line);
    EXPECT_EQ(s.scheme, "https");
    ASSERT_TRUE(wait_until([&] { return catches_stop_signals(s.child->pid()); }, 10s));
    s.child->send_signal(SIGTERM);
    auto st = s.child->wait_exit(10s);
    ASSERT_TRUE(st) << "no exit within 10 s of SIGTERM";
    EXPECT_TRUE(exited_with(*st, 0)) << describe_status(*st) << "; stderr: " << s.child->err();
    EXPECT_EQ(s.child->out(), s.line + "\n");
}

// ---- signals ----------------------------------------------------------------------------------

class CliSignal : public ::testing::TestWithParam<int> {};

TEST_P(CliSignal, ClosesClientsWith1001AndExitsZero) {
    auto s = start_serve({"--time-scale", "20"});
    WsClient metrics(s.port, "/ws/metrics");
    ASSERT_EQ(metrics.read_json()["type"], "welcome");
    WsClient channels(s.port, "/ws/channels");
    ASSERT_EQ(channels.read_json()["type"], "welcome");
    channels.send_json({{"action", "subscribe"}, {"channels", {"ch-1"}}});
    ASSERT_EQ(channels.read_until_type("subscribed")["channels"], json::array({"ch-1"}));

    s.child->send_signal(GetParam());
    for (WsClient* c : {&metrics, &channels}) {
        // Whatever was in flight, then the close frame.
        const auto end = Clock::now() + 10s;
        while (Clock::now() < end && c->read()) {
        }
        ASSERT_TRUE(c->closed()) << "still open 10 s after the signal";
        EXPECT_EQ(c->close_code(), 1001) << c->close_reason();
    }
    auto st = s.child->wait_exit(10s);
    ASSERT_TRUE(st) << "no exit within 10 s of the signal";
    EXPECT_TRUE(exited_with(*st, 0)) << describe_status(*st) << "; stderr: " << s.child->err();
}

// A script that reads the listening line and signals at once must get the same clean exit.
TEST_P(CliSignal, SignalRightAfterTheListeningLineExitsZero) {
    for (int i = 0; i < 50; ++i) {
        auto s = start_serve({"--threads", "1"}, Wait::line);
        s.child->send_signal(GetParam());
        auto st = s.child->wait_exit(10s);
        ASSERT_TRUE(st) << "attempt " << i << ": no exit within 10 s of the signal";
        ASSERT_TRUE(exited_with(*st, 0)) << "attempt " << i << ": " << describe_status(*st);
    }
}

INSTANTIATE_TEST_SUITE_P(Signals, CliSignal, ::testing::Values(SIGTERM, SIGINT),
                         [](const ::testing::TestParamInfo<int>& p) {
                             return std::string(p.param == SIGTERM ? "SIGTERM" : "SIGINT");
                         });

// ---- bad options ------------------------------------------------------------------------------

// The CLI contract for bad input: exit status 2, exactly one line on stderr naming every word
// of `named`, nothing on stdout. Returns the line.
std::string expect_refused(Child& c, const std::vector<std::string>& named) {
    auto st = c.wait_exit(10s);
    EXPECT_TRUE(st) << "still running after 10 s";
    if (!st) return "";
    EXPECT_TRUE(exited_with(*st, 2)) << describe_status(*st);
    const std::string err = c.err();
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "not one line: " << err;
    if (!err.empty()) {
        EXPECT_EQ(err.back(), '\n');
    }
    for (const auto& word : named)
        EXPECT_NE(err.find(word), std::string::npos) << "'" << word << "' not named in: " << err;
    EXPECT_EQ(c.out(), "");
    return err;
}

struct BadOptions {
    std::string name;
    std::vector<std::string> args;
    std::vector<std::string> named;  // what the error line must mention
};

void PrintTo(const BadOptions& b, std::ostream* os) { *os << b.name; }

class CliBadOptions : public ::testing::TestWithParam<BadOptions> {};

TEST_P(CliBadOptions, ExitTwoWithOneLineNamingTheProblem) {
    const auto& p = GetParam();
    Child c(p.args);
    expect_refused(c, p.named);
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliBadOptions,
    ::testing::Values(
        BadOptions{"NoCommand", {}, {"command"}},
        BadOptions{"UnknownCommand", {"frob"}, {"frob"}},
        BadOptions{"UnknownOptionBeforeCommand", {"--bogus"}, {"--bogus"}},
        BadOptions{"UnknownOption", {"serve", "--port", "0", "--bogus"}, {"--bogus"}},
        BadOptions{"StrayArgument", {"serve", "--port", "0", "extra"}, {"extra"}},
        BadOptions{"PortNotANumber", {"serve", "--port", "abc"}, {"--port", "abc"}},
        BadOptions{"PortOutOfRange", {"serve", "--port", "70000"}, {"--port", "70000"}},
        BadOptions{"NegativeTimeScale", {"serve", "--port", "0", "--time-scale", "-1"}, {"--time-scale", "-1"}},
        BadOptions{"HeartbeatBadUnit", {"serve", "--port", "0", "--heartbeat", "5x"}, {"--heartbeat", "5x"}},
        BadOptions{"HeartbeatTooShort", {"serve", "--port", "0", "--heartbeat", "5ms"}, {"--heartbeat"}},
        BadOptions{"MaxSubscriptionsZero", {"serve", "--port", "0", "--max-subscriptions", "0"}, {"--max-subscriptions"}},
        BadOptions{"HandshakeTimeoutBadUnit",
                   {"serve", "--port", "0", "--handshake-timeout", "5x"},
                   {"--handshake-timeout", "5x"}},
        BadOptions{"HeaderLimitTooSmall", {"serve", "--port", "0", "--header-limit", "10"}, {"--header-limit", "10"}},
        BadOptions{"TlsCertificateMissing",
                   {"serve", "--port", "0", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"},
                   {"/nonexistent/cert.pem"}},
        BadOptions{"TlsKeyWithoutCertificate",
                   {"serve", "--port", "0", "--tls-key", (tls_fixtures() / "key.pem").string()},
                   {"--tls-cert"}},
        BadOptions{"ReplayOfAMissingFile", {"replay", "/nonexistent/run.db", "--port", "0"}, {"/nonexistent/run.db"}},
        BadOptions{"ReplayBadSpeed", {"replay", "/nonexistent/run.db", "--speed", "fast"}, {"--speed", "fast"}},
        BadOptions{"InspectOfAMissingFile", {"inspect", "/nonexistent/run.db"}, {"/nonexistent/run.db"}},
        BadOptions{"VerifyOfAMissingFile", {"verify", "/nonexistent/run.db"}, {"/nonexistent/run.db"}},
        BadOptions{"VerifyWithoutAFile", {"verify"}, {"file"}},
        BadOptions{"VerifyRunNotANumber", {"verify", "/nonexistent/run.db", "--run", "last"}, {"--run", "last"}},
        BadOptions{"VerifyBadTolerance",
                   {"verify", "/nonexistent/run.db", "--tolerance", "soon"},
                   {"--tolerance", "soon"}},
        BadOptions{"ExportUnknownFormat", {"export", "/nonexistent/run.db", "--format", "pcap"}, {"--format", "pcap"}},
        BadOptions{"BenchBadTarget", {"bench", "--target", "http://127.0.0.1:1"}, {"--target"}},
        BadOptions{"FloodRateZero", {"serve", "--port", "0", "--flood", "0"}, {"--flood", "0"}},
        BadOptions{"FloodRateNotANumber", {"serve", "--port", "0", "--flood", "lots"}, {"--flood", "lots"}},
        BadOptions{"BenchBadRate", {"bench", "--rate", "-5"}, {"--rate", "-5"}},
        BadOptions{"RecordIntoAnUnwritablePlace",
                   {"serve", "--port", "0", "--record", "/proc/self/cannot-write-here.db"},
                   {"/proc/self/cannot-write-here.db"}}),
    [](const ::testing::TestParamInfo<BadOptions>& p) { return p.param.name; });

// /proc/PID/stat: the parent's pid and the state letter; nullopt once the process is gone.
struct ProcStat {
    char state;
    pid_t parent;
};
std::optional<ProcStat> proc_stat(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return std::nullopt;
    const auto close = line.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close + 1));
    ProcStat st{};
    rest >> st.state >> st.parent;
    return st;
}

// bench's server child dies with bench, even when bench is killed outright and cleans nothing up
// (the child asks for SIGTERM at its parent's death, or ends at once if the parent is already
// gone: STREAMBED_EXIT_WITH_PARENT).
TEST(CliBench, TheServerItStartedDiesWithIt) {
    Child bench({"bench", "--clients", "1", "--duration", "60s"});
    pid_t server = 0;
    const bool found = wait_until([&] {
        for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
            const auto name = entry.path().filename().string();
            if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
            const pid_t pid = std::stoi(name);
            const auto st = proc_stat(pid);
            if (!st || st->parent != bench.pid()) continue;
            std::ifstream cmd("/proc/" + name + "/cmdline");
            const std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
            if (args.find(std::string("serve") + '\0') == std::string::npos) continue;
            server = pid;
            return true;
        }
        return false;
    }, 10s);
    ASSERT_TRUE(found) << "bench started no server; stderr: " << bench.err();
    // Past its listening line (which a dead bench could not read: the write would kill it): its
    // listener and bench's client are two sockets.
    const bool serving = wait_until([&] {
        int sockets = 0;
        std::error_code ec;
        for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(server) + "/fd", ec))
            if (std::filesystem::read_symlink(fd.path(), ec).string().starts_with("socket:")) ++sockets;
        return sockets >= 2;
    }, 10s);
    ASSERT_TRUE(serving) << "bench's client never connected";
    bench.send_signal(SIGKILL);
    ASSERT_TRUE(bench.wait_exit(5s));
    // Gone, or a zombie waiting for whoever inherited it: either way no longer running.
    EXPECT_TRUE(wait_until([&] {
        const auto st = proc_stat(server);
        return !st || st->state == 'Z' || st->state == 'X';
    }, 5s)) << "server " << server << " outlived bench";
}

TEST(CliServe, FloodPublishesTheWorldsMetricsStampedWithTheWallClock) {
    auto s = start_serve({"--flood", "500"}, Wait::line);
    WsClient c(s.port, "/ws/metrics");
    const json welcome = c.read_json();
    ASSERT_EQ(welcome["type"], "welcome") << welcome.dump();
    EXPECT_EQ(welcome["channels"], json::array({"metrics"}));
    EXPECT_EQ(welcome["clock"]["scale"].get<double>(), 1.0);
    const auto wall_ms = welcome["clock"]["wall"].get<std::int64_t>() / 1000;
    EXPECT_LE(std::abs(welcome["clock"]["time"].get<std::int64_t>() - wall_ms), 1) << "simulated time is wall time";
    std::uint64_t last = 0;
    for (int i = 0; i < 200; ++i) {
        json j = c.read_json();
        ASSERT_TRUE(is_data(j)) << j.dump();
        ASSERT_EQ(j["type"], "metrics");
        if (last) {
            ASSERT_EQ(j["seq"].get<std::uint64_t>(), last + 1);
        }
        last = j["seq"];
        // Stamped when published, within the bounds of this test's own run.
        EXPECT_GE(j["time"].get<std::int64_t>(), wall_ms - 1000);
        EXPECT_LE(j["time"].get<std::int64_t>(), wall_ms + 60000);
        for (const char* f : {"tps", "txTotal", "blockHeight", "cpuPercent", "memoryMb"})
            ASSERT_TRUE(j["data"].contains(f)) << f << " missing in " << j.dump();
    }
}

// ---- bad time scales and simulator configurations ---------------------------------------------

class CliBadTimeScale : public ::testing::TestWithParam<std::string> {};

TEST_P(CliBadTimeScale, ExitTwoWithAShortLineNamingTheOption) {
    Child c({"serve", "--port", "0", "--time-scale", GetParam()});
    const auto err = expect_refused(c, {"--time-scale", "'" + GetParam() + "'"});
    EXPECT_LE(err.size(), 120u) << "not short: " << err;
}

INSTANTIATE_TEST_SUITE_P(Cli, CliBadTimeScale, ::testing::Values("0", "-1", "abc", "0.0", "inf", "max2"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                             std::string name;
                             for (char ch : p.param) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                             return "Value_" + name;
                         });

struct BadConfig {
    std::string name;
    std::optional<std::string> content;  // nullopt: the file does not exist
    std::vector<std::string> named;      // what the error line must mention, besides the file
};

void PrintTo(const BadConfig& b, std::ostream* os) { *os << b.name; }

class CliBadConfig : public ::testing::TestWithParam<BadConfig> {};

TEST_P(CliBadConfig, ExitTwoWithOneLineNamingTheFileAndField) {
    const auto& p = GetParam();
    const std::string path = ::testing::TempDir() + "cli_bad_config_" + p.name + ".json";
    std::filesystem::remove(path);
    if (p.content) {
        std::ofstream(path) << *p.content;
    }
    Child c({"serve", "--port", "0", "--config", path});
    auto named = p.named;
    named.push_back(path);  // the file is named too
    expect_refused(c, named);
    std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliBadConfig,
    ::testing::Values(
        BadConfig{"UnknownField", R"({"channels":4,"chanels":3})", {"'chanels'"}},
        BadConfig{"UnknownEpisodeField", R"({"episodes":{"meteor":0.1}})", {"'episodes.meteor'"}},
        BadConfig{"WrongType", R"({"channels":"8"})", {"'channels'"}},
        BadConfig{"WrongTypeFraction", R"({"validators":2.5})", {"'validators'"}},
        BadConfig{"OutOfRange", R"({"blockIntervalMs":10})", {"'blockIntervalMs'"}},
        BadConfig{"OutOfRangeProbability", R"({"episodes":{"failedRound":1.5}})", {"'episodes.failedRound'"}},
        BadConfig{"NegativeSeed", R"({"seed":-1})", {"'seed'"}},
        BadConfig{"NotJson", "{\"channels\": 8,", {"JSON"}},
        BadConfig{"NotAnObject", "[1, 2]", {"object"}},
        BadConfig{"Empty", "", {"JSON"}},
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
    EXPECT_EQ(validators.read_json()["channels"], json::array({"val-1", "val-2", "val-3", "val-4"}));
}

// --time-scale max: unpaced, as fast as the world can be generated; the server still serves.
TEST(CliServe, TimeScaleMaxStartsAndServes) {
    auto s = start_serve({"--time-scale", "max"});
    ASSERT_TRUE(s.child->running());
    HttpResult health;
    EXPECT_TRUE(wait_until([&] {
        health = http_get(s.port, "/q/health");
        return health.status == 200;
    })) << health.status << " " << health.body;

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
        EXPECT_EQ(j["time"].get<std::int64_t>(), kEpochMs + 2000 * static_cast<std::int64_t>(seq)) << j.dump();
        last_seq = seq;
    }
    c.close();

    s.child->send_signal(SIGTERM);
    auto st = s.child->wait_exit(10s);
    ASSERT_TRUE(st) << "no exit within 10 s of SIGTERM";
    EXPECT_TRUE(exited_with(*st, 0)) << describe_status(*st) << "; stderr: " << s.child->err();
}

TEST(CliHelp, HelpExitsZero) {
    Child top({"--help"});
    auto st = top.wait_exit(10s);
    ASSERT_TRUE(st);
    EXPECT_TRUE(exited_with(*st, 0)) << describe_status(*st);
    EXPECT_NE(top.out().find("serve"), std::string::npos) << top.out();

    Child serve({"serve", "--help"});
    st = serve.wait_exit(10s);
    ASSERT_TRUE(st);
    EXPECT_TRUE(exited_with(*st, 0)) << describe_status(*st);
    for (const char* option : {"--port", "--bind", "--seed", "--time-scale", "--heartbeat"})
        EXPECT_NE(serve.out().find(option), std::string::npos) << option << " not in: " << serve.out();
}

// ---- determinism across runs ------------------------------------------------------------------

// (stream, seq) → the exact bytes of the data message. A stream is "endpoint channel".
using Collected = std::map<std::pair<std::string, std::uint64_t>, std::string>;

// Reads until `count` data messages arrived, checking there is no gap after the first one (the
// snapshot may precede a gap: live delivery continues after the stream's newest seq).
void collect(WsClient& c, const std::string& endpoint, std::size_t count, Collected& into) {
    std::map<std::string, std::vector<std::uint64_t>> seqs;
    const auto end = Clock::now() + 30s;
    std::size_t got = 0;
    std::string control;  // the control messages received, for the failure message
    while (got < count) {
        ASSERT_LT(Clock::now(), end) << endpoint << ": only " << got << " data messages in 30 s";
        const auto text = c.read();
        ASSERT_TRUE(text) << endpoint << ": nothing more after " << got
                          << " data messages; control messages: " << control;
        const json j = json::parse(*text);
        if (!is_data(j)) {
            control += *text + "\n";
            continue;
        }
        const std::string stream = endpoint + " " + j["channel"].get<std::string>();
        const auto seq = j["seq"].get<std::uint64_t>();
        auto& seen = seqs[stream];
        if (seen.size() >= 2) {
            ASSERT_EQ(seq, seen.back() + 1) << stream << " skipped or repeated";
        }
        seen.push_back(seq);
        into.emplace(std::make_pair(stream, seq), *text);
        ++got;
    }
}

TEST(CliDeterminism, SameSeedGivesIdenticalBytesForTheSameStreamAndSeq) {
    // One clock start for both: however late the second server starts (a loaded machine, a
    // sanitizer), both hold the same world at the same simulated instant, so their seqs overlap.
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::vector<std::string> args{"--seed", "7", "--time-scale", "50", "--clock-start", std::to_string(now_ms)};
    auto a = start_serve(args);
    auto b = start_serve(args);

    struct Clients {
        std::unique_ptr<WsClient> metrics, channels;
    };
    auto connect = [](std::uint16_t port) {
        Clients c;
        c.metrics = std::make_unique<WsClient>(port, "/ws/metrics");
        c.channels = std::make_unique<WsClient>(port, "/ws/channels");
        c.channels->send_json({{"action", "subscribe"}, {"channels", {"ch-1"}}});
        return c;
    };
    Clients ca = connect(a.port), cb = connect(b.port);

    // ~5 s of wall time at --time-scale 50: metrics every 40 ms, ch-1 every 40 ms + blocks. The
    // second client subscribes a little later than the first (100 ms under ASan is 5 simulated
    // seconds), so each reads twice what the overlap needs.
    constexpr std::size_t kCount = 120;
    Collected ra, rb;
    ASSERT_NO_FATAL_FAILURE(collect(*ca.metrics, "/ws/metrics", kCount, ra));
    ASSERT_NO_FATAL_FAILURE(collect(*ca.channels, "/ws/channels", kCount, ra));
    ASSERT_NO_FATAL_FAILURE(collect(*cb.metrics, "/ws/metrics", kCount, rb));
    ASSERT_NO_FATAL_FAILURE(collect(*cb.channels, "/ws/channels", kCount, rb));

    std::map<std::string, std::size_t> overlap;
    for (const auto& [key, bytes] : ra) {
        auto it = rb.find(key);
        if (it == rb.end()) continue;
        ++overlap[key.first];
        EXPECT_EQ(bytes, it->second) << key.first << " seq " << key.second;
    }
    EXPECT_GE(overlap["/ws/metrics metrics"], 20u);
    EXPECT_GE(overlap["/ws/channels ch-1"], 20u);
    EXPECT_EQ(overlap.size(), 2u);
}

}  // namespace
}  // namespace streambed::testing
