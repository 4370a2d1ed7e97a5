// proxy_cli_test.cpp: `streambed proxy` run as a child process — the proxying line, traffic
// through it, the control API, SIGTERM (exit 0), and bad values (one line, exit 2).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <regex>
#include <string>

#include "tests/proxy/tcp_peers.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using namespace std::chrono_literals;

bool exited_with(const std::optional<int>& status, int code) {
    return status && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

TEST(ProxyCommand, PrintsTheLineProxiesAndStopsOnSigterm) {
    EchoServer echo;
    const std::string upstream = "localhost:" + std::to_string(echo.port());
    ChildProcess p(STREAMBED_BINARY, {"proxy", "--listen", "127.0.0.1:0", "--upstream", upstream,
                                      "--latency", "20ms", "--seed", "5"});
    const auto line = p.next_line(10s);
    ASSERT_TRUE(line) << p.err();
    std::smatch m;
    const std::regex want(
        R"(proxying 127\.0\.0\.1:(\d+) -> localhost:(\d+), control on http://127\.0\.0\.1:(\d+))");
    ASSERT_TRUE(std::regex_match(*line, m, want)) << *line;
    EXPECT_EQ(std::stoi(m[2]), echo.port());
    const auto port = static_cast<std::uint16_t>(std::stoi(m[1]));
    const auto control = static_cast<std::uint16_t>(std::stoi(m[3]));
    EXPECT_NE(port, 0);

    TcpClient c(port);
    ASSERT_TRUE(c.send("through"));
    EXPECT_EQ(c.read_exact(7), "through");
    const auto list = http_get(control, "/impairments");
    EXPECT_EQ(list.status, 200);
    ASSERT_EQ(list.body_json().size(), 1u);
    EXPECT_EQ(list.body_json()[0]["latency"], "20ms");

    p.send_signal(SIGTERM);
    EXPECT_TRUE(exited_with(p.wait_exit(10s), 0)) << p.err();
}

TEST(ProxyCommand, BadValuesExitTwoWithOneLine) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--listen", "127.0.0.1:0", "--upstream", "nohost"}, "nohost"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:99999"}, "127.0.0.1:99999"},
        {{"--listen", "127.0.0.1:0"}, "--upstream"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--latency", "soon"}, "soon"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--bandwidth", "lots"}, "lots"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--direction", "up"}, "up"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--seed", "abc"}, "abc"},
        {{"--listen", "bad", "--upstream", "127.0.0.1:1"}, "bad"},
        {{"--listen", "127.0.0.1:0", "--upstream", "no.such.host.invalid:80"},
         "no.such.host.invalid"},
    };
    for (const auto& [args, named] : cases) {
        std::vector<std::string> argv{"proxy"};
        argv.insert(argv.end(), args.begin(), args.end());
        ChildProcess p(STREAMBED_BINARY, argv);
        EXPECT_TRUE(exited_with(p.wait_exit(10s), 2)) << named << ": " << p.err();
        const std::string err = p.err();
        EXPECT_EQ(err.rfind("streambed proxy: ", 0), 0u) << err;
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
        EXPECT_NE(err.find(named), std::string::npos) << err;
        EXPECT_TRUE(p.out().empty()) << p.out();
    }
}

}  // namespace
}  // namespace streambed::testing
