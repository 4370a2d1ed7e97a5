// server_test.cpp: a real server on loopback — welcome, auto-subscription with snapshot, live
// delivery, ping/pong, and shutdown with 1001.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;

TEST(Server, WelcomeComesFirstWithClockAndChannels) {
    TestServer srv;
    srv.declare(Endpoint::channels, "ch-1");
    srv.declare(Endpoint::channels, "ch-2");
    WsClient c(srv.port(), "/ws/channels");
    auto w = c.read_json();
    EXPECT_EQ(w["type"], "welcome");
    EXPECT_EQ(w["protocol"], 1);
    EXPECT_EQ(w["endpoint"], "/ws/channels");
    EXPECT_TRUE(w["session"].is_string());
    EXPECT_EQ(w["channels"], json::parse(R"(["ch-1","ch-2"])"));
    EXPECT_EQ(w["heartbeatMs"], 15000);
    ASSERT_TRUE(w["clock"].is_object());
    EXPECT_TRUE(w["clock"]["time"].is_number_integer());
    EXPECT_TRUE(w["clock"]["wall"].is_number_integer());
    EXPECT_TRUE(w["clock"]["scale"].is_number());
}

// The welcome's clock maps message times to due instants, so its time and wall must name the
// same instant: wall is the instant of the whole simulated millisecond `time`, to the µs.
TEST(Server, WelcomeClockTimeAndWallAreTheSameInstant) {
    TestServer srv;
    srv.declare(Endpoint::metrics, "metrics");
    const std::int64_t anchor_wall = std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count() -
                                     123'457;  // not on a millisecond
    for (double scale : {1.0, 20.0, 0.5}) {
        SCOPED_TRACE(scale);
        srv.server().publisher().set_clock({1'000'000, anchor_wall, scale});
        for (int i = 0; i < 5; ++i) {
            WsClient c(srv.port(), "/ws/metrics");
            auto clock = c.read_json()["clock"];
            const auto time = clock["time"].get<std::int64_t>(),
                       wall = clock["wall"].get<std::int64_t>();
            const double expected_wall = static_cast<double>(anchor_wall) +
                                         static_cast<double>(time - 1'000'000) * 1000.0 / scale;
            EXPECT_NEAR(static_cast<double>(wall), expected_wall, 1.0);
            EXPECT_EQ(clock["scale"].get<double>(), scale);
        }
    }
}

TEST(Server, SessionIdsAreUnique) {
    TestServer srv;
    WsClient a(srv.port(), "/ws/metrics"), b(srv.port(), "/ws/metrics");
    EXPECT_NE(a.read_json()["session"], b.read_json()["session"]);
}

TEST(Server, EverySixEndpointsWelcomes) {
    TestServer srv;
    for (auto e : engine::kEndpoints) {
        WsClient c(srv.port(), std::string(engine::info(e).path));
        auto w = c.read_json();
        EXPECT_EQ(w["type"], "welcome");
        EXPECT_EQ(w["endpoint"], engine::info(e).path);
    }
}

TEST(Server, SingleChannelEndpointsSubscribeOnOpenWithSnapshot) {
    TestServer srv;
    auto m = srv.declare(Endpoint::metrics, "metrics");
    srv.publish_n(m, MessageType::metrics, 1);
    auto latest = srv.publish_n(m, MessageType::metrics, 2);
    WsClient c(srv.port(), "/ws/metrics");
    EXPECT_EQ(c.read_json()["type"], "welcome");
    // The snapshot: the latest state, with its original seq and bytes.
    EXPECT_EQ(c.read_text(), latest->bytes);
    auto next = srv.publish_n(m, MessageType::metrics, 3);
    EXPECT_EQ(c.read_text(), next->bytes);
}

TEST(Server, LiveDeliveryIsInOrderWithoutGapsAcrossThreads) {
    auto o = test_options();
    o.threads = 2;
    TestServer srv(o);
    auto m = srv.declare(Endpoint::metrics, "metrics");
    std::vector<WsClient> clients;
    for (int i = 0; i < 8; ++i) {  // spread over both I/O threads
        clients.emplace_back(srv.port(), "/ws/metrics");
        clients.back().read_json();
    }
    for (std::uint64_t n = 1; n <= 200; ++n) srv.publish_n(m, MessageType::metrics, n);
    for (auto& c : clients) {
        for (std::uint64_t seq = 1; seq <= 200; ++seq) {
            auto j = c.read_json();
            ASSERT_EQ(j["seq"], seq);
            ASSERT_EQ(j["data"]["n"], seq);
        }
    }
}

TEST(Server, PingIsAnsweredWithTheSameId) {
    TestServer srv;
    WsClient c(srv.port(), "/ws/network");
    c.read_json();
    c.send(R"({"action":"ping","id":7})");
    EXPECT_EQ(c.read_text(), R"({"type":"pong","id":7})");
    c.send(R"({"action":"ping","id":"abc"})");
    EXPECT_EQ(c.read_text(), R"({"type":"pong","id":"abc"})");
    c.send(R"({"action":"ping"})");
    EXPECT_EQ(c.read_text(), R"({"type":"pong"})");
}

TEST(Server, ShutdownClosesEveryClientWith1001) {
    TestServer srv;
    WsClient a(srv.port(), "/ws/metrics"), b(srv.port(), "/ws/channels");
    a.read_json();
    b.read_json();
    // Shutdown waits for the clients' close replies: read them while it runs.
    std::thread stopper([&] { srv.server().shutdown(); });
    EXPECT_FALSE(a.read());
    EXPECT_EQ(a.close_code(), 1001);
    EXPECT_FALSE(b.read());
    EXPECT_EQ(b.close_code(), 1001);
    stopper.join();
}

// The in-process crash (run --in-process, server_kill): no close frame, the connection just ends
// when the server is gone, and nothing listens any more.
TEST(Server, AbortEndsConnectionsWithoutACloseFrame) {
    auto srv = std::make_unique<engine::Server>(test_options());
    srv->start();
    const auto port = srv->port();
    WsClient a(port, "/ws/metrics", std::chrono::seconds(30));
    a.read_json();
    srv->abort();
    srv->shutdown();  // nothing more to do after an abort
    srv.reset();
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(a.read());
    // The end of the stream, not the 30 s read deadline.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
    EXPECT_EQ(a.close_code(), 0);  // no close frame came
    EXPECT_THROW(http_get(port, "/q/health"), std::runtime_error)
        << "nothing listens after the server is gone";
}

TEST(Server, ShutdownWithoutClientsIsQuickAndIdempotent) {
    auto options = test_options();
    // With no client there is nothing to drain: a shutdown that waited for drain_timeout anyway
    // would take a minute, far beyond the bound below on any machine.
    options.drain_timeout = std::chrono::seconds(60);
    TestServer srv(options);
    const auto port = srv.port();
    ASSERT_EQ(http_get(port, "/q/health/live").status, 200);
    const auto before = std::chrono::steady_clock::now();
    srv.server().shutdown();
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(30));
    srv.server().shutdown();  // again: returns, nothing left to stop
    // The listener is closed: a new connection is refused.
    EXPECT_THROW(http_get(port, "/q/health/live"), std::exception);
}

// The I/O threads carry their names (top -H, perf, a debugger): io-0, io-1, ... Each names
// itself as it starts, so the test waits for both.
std::set<std::string> thread_names() {
    std::set<std::string> names;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        std::getline(comm, name);
        names.insert(name);
    }
    return names;
}

TEST(Server, TheIoThreadsAreNamed) {
    TestServer srv;  // two I/O threads (test_options)
    EXPECT_TRUE(wait_until([] {
        const auto names = thread_names();
        return names.count("io-0") && names.count("io-1");
    })) << "no threads named io-0 and io-1";
}

}  // namespace
}  // namespace streambed::testing
