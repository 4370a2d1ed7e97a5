// run_test.cpp: `streambed run` as a user meets it, the real program as a child process — a
// passing scenario (exit 0, the JSON and HTML reports), a scenario built to fail (exit 1, the
// failing expectation with its value, a reproduce line that reproduces it), bad scenario files
// (exit 2 naming the problem), a run against an external server (--target: server figures
// skipped, and said so), and a cluster's run (skipped with 77 without redis-server; the source
// and its failover named in the report; nothing left running).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "tests/support/child_process.hpp"

namespace streambed::testing {
using json = nlohmann::json;
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

using namespace std::chrono_literals;

int exit_code(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class RunCommand : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("streambed-run-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) {
        const auto path = (dir_ / name).string();
        std::ofstream(path) << text;
        return path;
    }

    struct Result {
        int code;
        std::string out, err;
    };
    Result run(const std::vector<std::string>& args, std::chrono::milliseconds limit = 60s) {
        ChildProcess child(STREAMBED_BINARY, args);
        const auto status = child.wait_exit(limit);
        if (!status) return {-1, child.out(), child.err()};
        return {exit_code(*status), child.out(), child.err()};
    }
    static json read_json(const std::string& path) {
        std::ifstream in(path);
        return json::parse(in);
    }

    fs::path dir_;
};

// Five metrics clients for 10 simulated seconds at 20x: half a second of wall time.
std::string small_scenario(const std::string& expect) {
    return R"({
  // a small run: five clients on /ws/metrics
  "name": "small", "duration": "10s", "time_scale": 20, "seed": 7,
  "groups": [{"name": "m", "clients": 5, "endpoint": "/ws/metrics"}],
  "expect": [)" +
           expect + R"(]
})";
}

TEST_F(RunCommand, APassingScenarioExitsZeroAndWritesBothReports) {
    const auto file =
        write("ok.json", small_scenario(R"({"group": "m", "gaps": "== 0", "messages": "> 0"})"));
    const auto report = (dir_ / "r.json").string(), html = (dir_ / "r.html").string();
    const auto r = run({"run", file, "--report", report, "--html", html});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("PASS"), std::string::npos) << r.out;
    const auto j = read_json(report);
    EXPECT_EQ(j["result"], "pass");
    EXPECT_EQ(j["seed"], 7);
    EXPECT_EQ(j["expectations"].size(), 2u);
    EXPECT_EQ(j["groups"][0]["name"], "m");
    EXPECT_GT(j["groups"][0]["messages"].get<int>(), 0);
    EXPECT_EQ(j["series"]["t"].size(), 10u);
    std::ifstream in(html);
    const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(page.find("<svg"), std::string::npos);
    EXPECT_NE(page.find("small"), std::string::npos);
}

TEST_F(RunCommand, AScenarioBuiltToFailFailsNamesTheExpectationAndReproduces) {
    // The clients do receive messages, so "messages == 0" cannot hold.
    const auto file = write("fails.json", small_scenario(R"({"group": "m", "messages": "== 0"})"));
    const auto report = (dir_ / "r.json").string();
    const auto r = run({"run", file, "--seed", "11", "--report", report});
    ASSERT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("fail    m.messages == 0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("FAIL"), std::string::npos) << r.out;
    const auto first = read_json(report);
    EXPECT_EQ(first["result"], "fail");
    EXPECT_EQ(first["seed"], 11);
    EXPECT_GT(first["expectations"][0]["measured"].get<double>(), 0);
    // The one line that reproduces the run: run it as printed.
    const auto at = r.out.find("reproduce: ");
    ASSERT_NE(at, std::string::npos) << r.out;
    std::istringstream line(r.out.substr(at + 11, r.out.find('\n', at) - at - 11));
    std::vector<std::string> words;
    for (std::string w; line >> w;) words.push_back(w);
    ASSERT_GE(words.size(), 4u);
    EXPECT_EQ(words[0], STREAMBED_BINARY);
    const auto again_report = (dir_ / "again.json").string();
    std::vector<std::string> args(words.begin() + 1, words.end());
    args.insert(args.end(), {"--report", again_report});
    const auto again = run(args);
    EXPECT_EQ(again.code, 1) << again.out << again.err;
    const auto second = read_json(again_report);
    EXPECT_EQ(second["seed"], 11);
    EXPECT_EQ(second["expectations"][0]["status"], "fail");
}

TEST_F(RunCommand, BadScenarioFilesExitTwoNamingTheProblem) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"name": "x", "duration": "10s", "groups": [{"name": "g")", "line 1, column"},
        {R"({"name": "x", "duration": "10s", "groups": [{"name": "g", "clinets": 3}]})",
         "groups[0].clinets"},
        {R"({"name": "x", "duration": "10s", "groups": [{"name": "g", "clients": "three"}]})",
         "groups[0].clients"},
        {R"({"name": "x", "duration": "-5s", "groups": [{"name": "g"}]})", "duration"},
        {R"({"name": "x", "duration": "10s", "groups": [{"name": "g"}],
             "timeline": [{"at": "20s", "event": "server_kill"}]})",
         "timeline[0]"},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto file = write("bad" + std::to_string(i) + ".json", cases[i].first);
        const auto r = run({"run", file});
        EXPECT_EQ(r.code, 2) << cases[i].first;
        EXPECT_NE(r.err.find(cases[i].second), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    const auto missing = run({"run", (dir_ / "nope.json").string()});
    EXPECT_EQ(missing.code, 2);
    EXPECT_NE(missing.err.find("nope.json"), std::string::npos) << missing.err;
    const auto bad_target =
        run({"run", write("ok.json", small_scenario("")), "--target", "http://x"});
    EXPECT_EQ(bad_target.code, 2);
    EXPECT_NE(bad_target.err.find("--target"), std::string::npos) << bad_target.err;
    // TLS targets are bench's: run says so, by name.
    const auto tls_target =
        run({"run", write("ok.json", small_scenario("")), "--target", "wss://127.0.0.1:1"});
    EXPECT_EQ(tls_target.code, 2);
    EXPECT_NE(tls_target.err.find("wss:// is driven by bench"), std::string::npos)
        << tls_target.err;
}

// The run cannot be made: the server child refuses its recording file and exits. Exit 1 (not a
// bad scenario file), the server's own complaint in the report and on the terminal.
TEST_F(RunCommand, AServerThatDoesNotStartFailsTheRunAndSaysWhy) {
    const auto file = write("ok.json", small_scenario(R"({"group": "m", "gaps": "== 0"})"));
    const auto report = (dir_ / "r.json").string();
    const auto unwritable = (dir_ / "no-such-folder" / "run.db").string();
    const auto r = run({"run", file, "--record", unwritable, "--report", report});
    ASSERT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("the run could not be made"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("no-such-folder"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("reproduce: "), std::string::npos) << r.out;
    const auto j = read_json(report);
    EXPECT_EQ(j["result"], "fail");
    EXPECT_NE(j["error"].get<std::string>().find("no-such-folder"), std::string::npos) << j.dump();
}

// The server in the runner's own process, killed and started again on the same port: the
// clients reconnect and resume under the same epoch with nothing missed or repeated, the
// recording holds every frame of both runs, and the report says where the server ran.
TEST_F(RunCommand, InProcessTheServerIsKilledAndRestartedAndClientsResume) {
    const auto file = write("kill.json", R"({
  "name": "kill-in-process", "duration": "16s", "time_scale": 20, "seed": 3,
  "groups": [{"name": "c", "clients": 6, "endpoint": "/ws/channels", "subscribe": ["*"],
              "reconnect": {"min": "200ms", "max": "1s"}}],
  "timeline": [{"at": "6s", "event": "server_kill", "down_for": "1s"}],
  "expect": [{"group": "c", "gaps": "== 0", "duplicates": "== 0", "reconnects": ">= 6", "messages": "> 0"},
             {"recording_complete": true}, {"server_rss": "< 10GB"}]
})");
    const auto report = (dir_ / "r.json").string(), db = (dir_ / "run.db").string();
    const auto r = run({"run", file, "--in-process", "--record", db, "--report", report});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const auto j = read_json(report);
    EXPECT_EQ(j["target"], "in-process");
    // A kill sends no close frame: every client lost its connection to the end of the stream.
    const auto& g = j["groups"][0];
    EXPECT_EQ(g["reasons"].value("dropped: connection lost: End of file", 0), 6) << g.dump();
    EXPECT_FALSE(g["closes"].contains("1001")) << g.dump();
    const auto& rss = j["expectations"].back();
    EXPECT_EQ(rss["status"], "skipped");
    EXPECT_NE(rss["reason"].get<std::string>().find("in-process"), std::string::npos) << rss.dump();
    const auto both = run({"run", file, "--in-process", "--target", "ws://127.0.0.1:1"});
    EXPECT_EQ(both.code, 2);
    EXPECT_NE(both.err.find("--in-process"), std::string::npos) << both.err;
}

TEST_F(RunCommand, AnExternalTargetSkipsServerFiguresAndSaysWhy) {
    ChildProcess server(STREAMBED_BINARY, {"serve", "--port", "0", "--time-scale", "20"});
    const auto line = server.next_line(20s);
    ASSERT_TRUE(line) << server.err();
    const auto port = line->substr(line->rfind(':') + 1);
    const auto file = write(
        "t.json", small_scenario(R"({"group": "m", "gaps": "== 0"}, {"server_rss": "< 10GB"})"));
    const auto report = (dir_ / "r.json").string();
    const auto r = run({"run", file, "--target", "ws://localhost:" + port, "--report", report});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const auto j = read_json(report);
    EXPECT_EQ(j["target"], "ws://localhost:" + port);
    EXPECT_EQ(j["expectations"][0]["status"], "pass");
    EXPECT_EQ(j["expectations"][1]["status"], "skipped");
    EXPECT_NE(j["expectations"][1]["reason"].get<std::string>().find("--target"),
              std::string::npos);
}

// A cluster of one node: the runner would start a redis-server and the node.
std::string cluster_scenario() {
    return R"({"name": "tiny-cluster", "duration": "5s", "time_scale": 20,
  "cluster": {"nodes": 1},
  "groups": [{"name": "m", "clients": 2, "endpoint": "/ws/metrics"}]})";
}

TEST_F(RunCommand, AClusterScenarioWithoutRedisServerIsSkippedSayingSo) {
    const auto file = write("c.json", cluster_scenario());
    // A PATH without redis-server (the binary itself is named by its full path).
    const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", dir_.c_str(), 1);
    const auto r = run({"run", file});
    ::setenv("PATH", path.c_str(), 1);
    EXPECT_EQ(r.code, 77) << "ctest's SKIP_RETURN_CODE: " << r.out << r.err;
    EXPECT_NE(r.err.find("skipped: redis-server not found"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("scenario tiny-cluster: skipped: redis-server not found"),
              std::string::npos)
        << r.out;
}

TEST_F(RunCommand, AClusterScenarioRefusesTargetInProcessAndRecord) {
    const auto file = write("c.json", cluster_scenario());
    for (const auto& [option, value] :
         {std::pair<std::string, std::string>{"--target", "ws://127.0.0.1:9"},
          {"--in-process", ""},
          {"--record", (dir_ / "r.db").string()}}) {
        std::vector<std::string> args{"run", file, option};
        if (!value.empty()) args.push_back(value);
        const auto r = run(args);
        EXPECT_EQ(r.code, 2) << option << ": " << r.err;
        EXPECT_NE(r.err.find(option + ": not with a scenario's 'cluster'"), std::string::npos)
            << r.err;
    }
}

TEST_F(RunCommand, AClusterRunNamesItsSourceAndTheFailoverWhenTheSourceIsKilled) {
    if (::system("command -v redis-server > /dev/null") != 0)
        GTEST_SKIP() << "redis-server is not installed (apt-get install redis-server)";
    const auto file = write("c.json", R"({"name": "two-nodes", "duration": "20s", "time_scale": 10,
  "cluster": {"nodes": 2}, "server": {"threads": 1},
  "groups": [{"name": "m", "clients": 4, "endpoint": "/ws/channels", "subscribe": ["ch-1"],
              "reconnect": {"min": "200ms", "max": "1s"}}],
  "timeline": [{"at": "8s", "event": "node_kill", "node": "source"}],
  "expect": [{"gaps": "== 0", "duplicates": "== 0", "failover_max": "< 5s"},
             {"connected_end": "== 4"}]})");
    const auto report = (dir_ / "r.json").string();
    const auto r = run({"run", file, "--report", report});
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const auto c = read_json(report)["cluster"];
    EXPECT_EQ(c["nodes"], 2);
    ASSERT_EQ(c["ports"].size(), 2u);
    ASSERT_EQ(c["failovers"].size(), 1u) << c.dump(2);
    EXPECT_NE(c["failovers"][0]["from"], c["failovers"][0]["to"]);
    EXPECT_GT(c["failover_max_ms"].get<double>(), 0);
    const auto facts = c["facts"].dump();
    EXPECT_NE(facts.find("is the source"), std::string::npos) << facts;
    EXPECT_NE(facts.find("killed (SIGKILL) (the source)"), std::string::npos) << facts;
    EXPECT_NE(r.out.find("  cluster "), std::string::npos) << "the summary prints the facts";
    // Nothing of the cluster outlives the run: its Redis and its nodes no longer listen.
    std::vector<std::uint16_t> ports = c["ports"].get<std::vector<std::uint16_t>>();
    ports.push_back(c["redis_port"].get<std::uint16_t>());
    EXPECT_NE(ports.back(), 0);
    for (auto port : ports) {
        asio::io_context ioc;
        asio::ip::tcp::socket sock(ioc);
        boost::system::error_code ec;
        sock.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
        EXPECT_TRUE(ec) << "port " << port << " still answers";
    }
}

}  // namespace
}  // namespace streambed::testing
