// bench_target_test.cpp: `streambed bench --target` as a child process (issue 11): bad targets
// and pids exit 2 with one line naming the value (never an abort), host names and bracketed
// IPv6 literals resolve, and a run whose clients were refused or dropped says why and exits 1.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/app/cli_child.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

namespace {

using namespace std::chrono_literals;

std::uint16_t serve_port(Child& c) {
    auto line = c.next_line(20s);
    if (!line || line->rfind("listening on http://", 0) != 0)
        throw std::runtime_error("no listening line; stderr: " + c.err());
    return static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
}

struct BadBench {
    std::vector<std::string> args;
    std::string named;  // what the one line must name
};

class BenchBadTarget : public ::testing::TestWithParam<BadBench> {};

TEST_P(BenchBadTarget, ExitsTwoWithOneLineNamingTheValue) {
    std::vector<std::string> args{"bench", "--clients", "1", "--duration", "100ms"};
    args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
    Child c(args);
    const auto status = c.wait_exit(30s);
    EXPECT_EQ(describe(status), "exit 2") << c.err();
    const std::string err = c.err();
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_NE(err.find(GetParam().named), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(
    Targets, BenchBadTarget,
    ::testing::Values(
        BadBench{{"--target", "ws://127.0.0.1:notaport"}, "notaport"},
        BadBench{{"--target", "ws://127.0.0.1:99999"}, "99999"},
        BadBench{{"--target", "ws://127.0.0.1:0"}, "ws://127.0.0.1:0"},
        BadBench{{"--target", "ws://127.0.0.1"}, "ws://127.0.0.1"},
        BadBench{{"--target", "ws://::1:9003"}, "ws://::1:9003"},
        BadBench{{"--target", "ws://[::1:9003"}, "ws://[::1:9003"},
        BadBench{{"--target", "http://127.0.0.1:9003"}, "http://127.0.0.1:9003"},
        BadBench{{"--target", "ws://127.0.0.1:9003", "--target-pid", "999999"}, "999999"},
        BadBench{{"--target-pid", "999999"}, "999999"},
        BadBench{{"--target", "ws://127.0.0.1:9003", "--target", "wss://127.0.0.1:9004"},
                 "wss://127.0.0.1:9004"},
        BadBench{{"--target", "ws://127.0.0.1:9003/ws/metrics", "--target",
                  "ws://127.0.0.1:9004/ws/blocks"},
                 "ws://127.0.0.1:9004/ws/blocks"},
        BadBench{{"--target", "ws://127.0.0.1:9003", "--target-pid", "1", "--target-pid", "1"},
                 "2 --target-pid for 1 --target"}));

const std::string kTls = std::string(STREAMBED_FIXTURES) + "/tls/";

// TLS and header options: a CA that cannot be read, TLS options without a wss:// target, both
// ways of trusting at once, a path that is not an endpoint, a header value that would split.
INSTANTIATE_TEST_SUITE_P(
    Tls, BenchBadTarget,
    ::testing::Values(
        BadBench{{"--target", "wss://127.0.0.1:9003", "--ca", "/nonexistent/ca.pem"},
                 "/nonexistent/ca.pem"},
        BadBench{{"--target", "wss://127.0.0.1:9003", "--ca", kTls + "README.md"}, "README.md"},
        BadBench{{"--target", "ws://127.0.0.1:9003", "--ca", kTls + "cert.pem"},
                 "needs a wss:// --target"},
        BadBench{{"--ca", kTls + "cert.pem"}, "needs a wss:// --target"},
        BadBench{{"--insecure"}, "--insecure needs a wss:// --target"},
        BadBench{{"--target", "wss://127.0.0.1:9003", "--ca", kTls + "cert.pem", "--insecure"},
                 "--insecure"},
        BadBench{{"--target", "wss://127.0.0.1:9003/nope"}, "'/nope'"},
        BadBench{{"--target", "wss://127.0.0.1/ws/metrics"}, "wss://127.0.0.1/ws/metrics"},
        BadBench{{"--target", "wss://127.0.0.1:9003/ws/metrics", "--endpoint", "/ws/blocks"},
                 "/ws/blocks"},
        BadBench{{"--target", "ws://127.0.0.1:9003", "--origin", "a\r\nX-Injected: 1"},
                 "--origin"}));

// Host names resolve (serve --bind too); an IPv6 literal is written in brackets.
TEST(BenchTarget, HostNamesAndIpv6LiteralsAreResolved) {
    for (const auto& [bind, host] : {std::pair{"localhost", "localhost"}, {"::1", "[::1]"}}) {
        Child serve({"serve", "--port", "0", "--bind", bind});
        const auto port = serve_port(serve);
        Child bench({"bench", "--target", std::string("ws://") + host + ":" + std::to_string(port),
                     "--clients", "2", "--duration", "200ms", "--target-pid",
                     std::to_string(serve.pid())});
        EXPECT_EQ(describe(bench.wait_exit(30s)), "exit 0") << host << ": " << bench.err();
        EXPECT_NE(bench.out().find("2 connected, 0 failed"), std::string::npos) << bench.out();
    }
}

// Several targets (a cluster's nodes): the clients are spread over them, and each server's CPU is
// reported over its own deliveries.
TEST(BenchTarget, SeveralTargetsShareTheClientsAndEachServerIsSampled) {
    Child a({"serve", "--port", "0"});
    Child b({"serve", "--port", "0"});
    const auto port_a = serve_port(a), port_b = serve_port(b);
    Child bench({"bench", "--target", "ws://127.0.0.1:" + std::to_string(port_a), "--target",
                 "ws://127.0.0.1:" + std::to_string(port_b), "--target-pid",
                 std::to_string(a.pid()), "--target-pid", std::to_string(b.pid()), "--clients", "6",
                 "--duration", "2500ms", "--json"});
    ASSERT_EQ(describe(bench.wait_exit(60s)), "exit 0") << bench.err();
    const auto out = bench.out();
    const auto j = nlohmann::json::parse(out.substr(out.find('{')));
    EXPECT_EQ(j["connected"], 6);
    ASSERT_EQ(j["servers"].size(), 2u) << out;
    EXPECT_EQ(j["servers"][0]["pid"], a.pid());
    EXPECT_EQ(j["servers"][1]["pid"], b.pid());
    // Round-robin: three clients on each server, every one of them served (the 2 s cadence).
    EXPECT_GE(j["messages"].get<int>(), 6) << out;
    for (const auto port : {port_a, port_b})
        EXPECT_EQ(http_get(port, "/api/v11/websocket/stats").body_json()["connectionsOpened"], 3);
}

// A WebSocket server that welcomes each client, then closes it with 1008.
class DroppingServer {
  public:
    DroppingServer() : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
        accept();
        thread_ = std::thread([this] { ioc_.run_for(60s); });
    }
    ~DroppingServer() {
        ioc_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  private:
    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) return;
            try {
                websocket::stream<tcp::socket> ws(std::move(socket));
                ws.accept();
                ws.write(asio::buffer(std::string(
                    R"({"type":"welcome","protocol":1,"clock":{"time":0,"wall":0,"scale":1.0}})")));
                // A close frame (1008 "go away"), then the connection ends: no read can block.
                const std::string close{"\x88\x09\x03\xf0go away", 11};
                asio::write(ws.next_layer(), asio::buffer(close));
                ws.next_layer().shutdown(tcp::socket::shutdown_send, ec);
            } catch (const std::exception&) {
            }
            accept();
        });
    }

    asio::io_context ioc_;
    tcp::acceptor acceptor_;
    std::thread thread_;
};

TEST(BenchTarget, EveryClientDroppedSaysWhyAndExitsOne) {
    DroppingServer server;
    Child bench({"bench", "--target", "ws://127.0.0.1:" + std::to_string(server.port()),
                 "--clients", "2", "--duration", "200ms"});
    EXPECT_EQ(describe(bench.wait_exit(30s)), "exit 1") << bench.out() << bench.err();
    EXPECT_NE(bench.err().find("1008 go away"), std::string::npos) << bench.err();
}

TEST(BenchTarget, RefusedClientsAreExplained) {
    Child serve({"serve", "--port", "0", "--auth-token", "s3cret"});
    const auto port = serve_port(serve);
    Child bench({"bench", "--target", "ws://127.0.0.1:" + std::to_string(port), "--clients", "2",
                 "--duration", "100ms"});
    EXPECT_EQ(describe(bench.wait_exit(30s)), "exit 1") << bench.err();
    EXPECT_NE(bench.err().find("2 connection(s) failed: upgrade refused: HTTP/1.1 401"),
              std::string::npos)
        << bench.err();
}

}  // namespace
}  // namespace streambed::testing
