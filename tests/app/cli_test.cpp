// cli_test.cpp: the real `streambed` program run as a child process — the listening line, health
// and WebSocket data, TLS, SIGTERM/SIGINT (close 1001, exit 0), `bench` taking its server down
// with it, the flood's wall-clock stamps, `--help`, and byte-identical data messages across two
// runs with the same seed. Bad options, time scales and configurations: cli_options_test.cpp.
#include "tests/app/cli_child.hpp"

namespace streambed::testing {
using Clock = std::chrono::steady_clock;

namespace {

using namespace std::chrono_literals;

// ---- serve: the listening line, health, data --------------------------------------------------

TEST(CliServe, PrintsOneListeningLineThenServesHealthAndMetrics) {
    auto s = start_serve({"--time-scale", "20"});
    // The line was read while the program runs: it is flushed, not buffered until exit.
    ASSERT_TRUE(s.child->running());
    EXPECT_EQ(s.scheme, "http");

    const HttpResult health = wait_healthy(s.port);
    EXPECT_EQ(health.status, 200) << health.body;
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
        ASSERT_EQ(welcome["channels"], json::array({"metrics"}))
            << "attempt " << i << ": " << welcome.dump();
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

TEST(CliServe, WithCertificateAndKeyListensOnHttps) {
    const auto dir = tls_fixtures();
    ASSERT_TRUE(std::filesystem::exists(dir / "cert.pem")) << dir / "cert.pem";
    auto s = start_serve(
        {"--tls-cert", (dir / "cert.pem").string(), "--tls-key", (dir / "key.pem").string()},
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
    const bool found = wait_until(
        [&] {
            for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
                const auto name = entry.path().filename().string();
                if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
                const pid_t pid = std::stoi(name);
                const auto st = proc_stat(pid);
                if (!st || st->parent != bench.pid()) continue;
                std::ifstream cmd("/proc/" + name + "/cmdline");
                const std::string args((std::istreambuf_iterator<char>(cmd)),
                                       std::istreambuf_iterator<char>());
                if (args.find(std::string("serve") + '\0') == std::string::npos) continue;
                server = pid;
                return true;
            }
            return false;
        },
        10s);
    ASSERT_TRUE(found) << "bench started no server; stderr: " << bench.err();
    // Past its listening line (which a dead bench could not read: the write would kill it): its
    // listener and bench's client are two sockets.
    const bool serving = wait_until(
        [&] {
            int sockets = 0;
            std::error_code ec;
            for (const auto& fd :
                 std::filesystem::directory_iterator("/proc/" + std::to_string(server) + "/fd", ec))
                if (std::filesystem::read_symlink(fd.path(), ec).string().starts_with("socket:"))
                    ++sockets;
            return sockets >= 2;
        },
        10s);
    ASSERT_TRUE(serving) << "bench's client never connected";
    bench.send_signal(SIGKILL);
    ASSERT_TRUE(bench.wait_exit(5s));
    // Gone, or a zombie waiting for whoever inherited it: either way no longer running.
    EXPECT_TRUE(wait_until(
        [&] {
            const auto st = proc_stat(server);
            return !st || st->state == 'Z' || st->state == 'X';
        },
        5s))
        << "server " << server << " outlived bench";
}

TEST(CliServe, FloodPublishesTheWorldsMetricsStampedWithTheWallClock) {
    auto s = start_serve({"--flood", "500"}, Wait::line);
    WsClient c(s.port, "/ws/metrics");
    const json welcome = c.read_json();
    ASSERT_EQ(welcome["type"], "welcome") << welcome.dump();
    EXPECT_EQ(welcome["channels"], json::array({"metrics"}));
    EXPECT_EQ(welcome["clock"]["scale"].get<double>(), 1.0);
    const auto wall_ms = welcome["clock"]["wall"].get<std::int64_t>() / 1000;
    EXPECT_LE(std::abs(welcome["clock"]["time"].get<std::int64_t>() - wall_ms), 1)
        << "simulated time is wall time";
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
        EXPECT_NE(serve.out().find(option), std::string::npos)
            << option << " not in: " << serve.out();
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
    const std::vector<std::string> args{
        "--seed", "7", "--time-scale", "50", "--clock-start", std::to_string(now_ms)};
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
