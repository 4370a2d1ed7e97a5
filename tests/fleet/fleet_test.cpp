// fleet_test.cpp: the fleet's own counting, against a scripted server that skips, repeats and
// delays on purpose (so every expected figure is known), its reconnect-and-resume path, and
// several servers per group (a cluster's nodes): spread, pinned, and the next one after a loss.
#include "fleet/fleet.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "tests/support/ws_client.hpp"

namespace streambed::fleet {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

using namespace std::chrono_literals;
using Ws = websocket::stream<tcp::socket>;

constexpr std::int64_t kT0 = 1762732800000;

std::int64_t now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// A WebSocket server on port 0 whose every connection runs `script` (on a thread of its own).
class ScriptedServer {
  public:
    using Script = std::function<void(Ws&, int connection)>;
    explicit ScriptedServer(Script script) : script_(std::move(script)) {
        acceptor_.open(tcp::v4());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        thread_ = std::thread([this] { accept_loop(); });
    }
    ~ScriptedServer() {
        stopping_ = true;
        // A blocking accept does not wake when the acceptor is closed from another thread: a
        // connection wakes it, and the loop sees stopping_.
        boost::system::error_code ec;
        tcp::socket poke(ioc_);
        poke.connect({asio::ip::make_address("127.0.0.1"), port()}, ec);
        thread_.join();
        for (auto& t : sessions_) t.join();
        acceptor_.close(ec);
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    bool stopping() const { return stopping_; }

  private:
    void accept_loop() {
        for (int n = 0; !stopping_; ++n) {
            tcp::socket sock(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(sock, ec);
            if (ec || stopping_) return;
            sock.set_option(tcp::no_delay(true), ec);  // each frame leaves at once (no Nagle delay)
            sessions_.emplace_back([this, s = std::move(sock), n]() mutable {
                try {
                    Ws ws(std::move(s));
                    ws.accept();
                    script_(ws, n);
                    // Hold the connection until the test ends (or the client goes).
                    beast::flat_buffer buf;
                    while (!stopping_) ws.read(buf);
                } catch (const std::exception&) {
                }
            });
        }
    }

    Script script_;
    asio::io_context ioc_;
    tcp::acceptor acceptor_{ioc_};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    std::vector<std::thread> sessions_;
};

void send_welcome(Ws& ws, std::int64_t wall_us, int heartbeat_ms = 15000) {
    ws.text(true);
    ws.write(asio::buffer(fmt::format(
        R"({{"type":"welcome","protocol":1,"endpoint":"/ws/transactions","session":"t","channels":["ch-1"],"heartbeatMs":{},"clock":{{"time":{},"wall":{},"scale":1.0}},"epoch":"e1"}})",
        heartbeat_ms, kT0, wall_us)));
}

// A transaction of ch-1 due `due_ms` after the welcome's instant.
void send_tx(Ws& ws, std::uint64_t seq, std::int64_t due_ms) {
    ws.write(asio::buffer(
        fmt::format(R"({{"type":"transaction","channel":"ch-1","seq":{},"time":{},"data":{{}}}})",
                    seq, kT0 + due_ms)));
}

ClientGroup transactions_group(std::size_t clients) {
    ClientGroup g;
    g.name = "g";
    g.clients = clients;
    g.endpoint = "/ws/transactions";
    g.subscribe = {"ch-1"};
    g.reconnect.min = std::chrono::milliseconds(10);
    g.reconnect.max = std::chrono::milliseconds(20);
    return g;
}

TEST(Fleet, CountsSkipsRepeatsAndDelaysExactly) {
    // Seqs 1 2 3 5 5 6 7: seq 4 skipped, seq 5 repeated; seq 6 sent 80 ms after it was due.
    ScriptedServer server([](Ws& ws, int) {
        const auto wall = now_us();
        send_welcome(ws, wall);
        beast::flat_buffer buf;
        ws.read(buf);  // the subscribe
        for (std::uint64_t s : {1, 2, 3, 5, 5}) send_tx(ws, s, (now_us() - wall) / 1000);
        const std::int64_t due6 = (now_us() - wall) / 1000;
        while (now_us() - wall < (due6 + 80) * 1000)
            std::this_thread::yield();  // the delay under test
        send_tx(ws, 6, due6);
        send_tx(ws, 7, (now_us() - wall) / 1000);
    });
    FleetOptions o;
    o.threads = 2;
    Fleet fleet(o, {transactions_group(3)}, {{"127.0.0.1", server.port()}});
    fleet.start();
    const FinalSeqs finals{{{"/ws/transactions", "ch-1"}, 7}};
    ASSERT_TRUE(testing::wait_until(
        [&] { return fleet.connected(0) == 3 && fleet.caught_up(finals); }, 10s));
    fleet.stop();
    const auto r = fleet.result(finals);
    const auto& g = r.groups.at(0);
    EXPECT_EQ(g.messages, 3u * 7);
    EXPECT_EQ(g.seqs.distinct, 3u * 6);
    EXPECT_EQ(g.seqs.gaps, 3u * 1);
    EXPECT_EQ(g.seqs.duplicates, 3u * 1);
    EXPECT_EQ(g.seqs.expected, 3u * 7);
    EXPECT_EQ(g.connects, 3u);
    EXPECT_EQ(g.reconnects, 0u);
    EXPECT_EQ(g.lateness_us.count(), 3u * 7);
    EXPECT_EQ(g.lateness_us.negatives(), 0u);
    // One message in seven was 80 ms late, the rest a few ms at most.
    EXPECT_GE(g.lateness_us.max(), 80'000);
    EXPECT_LT(g.lateness_us.max(), 500'000);
    EXPECT_LT(g.lateness_us.percentile(50), 40'000);
}

TEST(Fleet, ReconnectsAndResumesFromTheLastSeqWithoutGap) {
    std::mutex mu;
    std::vector<json> subscribes;
    ScriptedServer server([&](Ws& ws, int connection) {
        send_welcome(ws, now_us());
        beast::flat_buffer buf;
        ws.read(buf);
        {
            std::lock_guard lock(mu);
            subscribes.push_back(json::parse(beast::buffers_to_string(buf.data())));
        }
        if (connection == 0) {
            for (std::uint64_t s = 1; s <= 3; ++s) send_tx(ws, s, 0);
            ws.close(websocket::close_code::try_again_later);  // 1013, as a slow consumer gets
            return;
        }
        for (std::uint64_t s = 4; s <= 6; ++s) send_tx(ws, s, 0);
    });
    Fleet fleet(FleetOptions{}, {transactions_group(1)}, {{"127.0.0.1", server.port()}});
    fleet.start();
    const FinalSeqs finals{{{"/ws/transactions", "ch-1"}, 6}};
    ASSERT_TRUE(testing::wait_until(
        [&] { return fleet.connected(0) == 1 && fleet.caught_up(finals); }, 10s));
    fleet.stop();
    const auto g = fleet.result(finals).groups.at(0);
    EXPECT_EQ(g.connects, 2u);
    EXPECT_EQ(g.reconnects, 1u);
    EXPECT_EQ(g.closes.at(1013), 1u);
    EXPECT_EQ(g.seqs.gaps, 0u);
    EXPECT_EQ(g.seqs.duplicates, 0u);
    EXPECT_EQ(g.seqs.distinct, 6u);
    EXPECT_EQ(g.reconnect_us.count(), 1u);
    std::lock_guard lock(mu);
    ASSERT_EQ(subscribes.size(), 2u);
    EXPECT_FALSE(subscribes[0].contains("since"));
    EXPECT_EQ(subscribes[1]["since"], (json{{"ch-1", 3}}));
    EXPECT_EQ(subscribes[1]["epoch"], "e1");
}

TEST(Fleet, ADeclaredResetIsNotAGap) {
    ScriptedServer server([](Ws& ws, int) {
        send_welcome(ws, now_us());
        beast::flat_buffer buf;
        ws.read(buf);
        send_tx(ws, 1, 0);
        ws.write(asio::buffer(std::string(
            R"({"type":"reset","channel":"ch-1","seq":9,"reason":"history_exceeded"})")));
        send_tx(ws, 9, 0);   // 2..8 declared by the reset (9: the message that follows it)
        send_tx(ws, 10, 0);  // live again: a jump now is a gap (11, 12)
        send_tx(ws, 13, 0);
    });
    Fleet fleet(FleetOptions{}, {transactions_group(1)}, {{"127.0.0.1", server.port()}});
    fleet.start();
    const FinalSeqs finals{{{"/ws/transactions", "ch-1"}, 13}};
    ASSERT_TRUE(testing::wait_until([&] { return fleet.caught_up(finals); }, 10s));
    fleet.stop();
    const auto g = fleet.result(finals).groups.at(0);
    EXPECT_EQ(g.resets, 1u);
    EXPECT_EQ(g.seqs.declared, 7u);
    EXPECT_EQ(g.seqs.gaps, 2u);
}

TEST(Fleet, EventsBetweenASnapshotAndTheFirstLiveMessageAreNotOwed) {
    // A fresh subscription: the snapshot (seq 5), then live from 9: 6..8 were published before
    // the subscription, so they are neither expected nor missing. A later jump is conflation.
    ScriptedServer server([](Ws& ws, int) {
        send_welcome(ws, now_us());
        beast::flat_buffer buf;
        ws.read(buf);
        for (std::uint64_t s : {5, 9, 10, 12}) send_tx(ws, s, 0);
    });
    auto group = transactions_group(1);
    group.endpoint =
        "/ws/channels";  // a stream with states: a jump inside a connection is conflation
    Fleet fleet(FleetOptions{}, {group}, {{"127.0.0.1", server.port()}});
    fleet.start();
    const FinalSeqs finals{{{"/ws/channels", "ch-1"}, 12}};
    ASSERT_TRUE(testing::wait_until(
        [&] { return fleet.connected(0) == 1 && fleet.caught_up(finals); }, 10s));
    fleet.stop();
    const auto g = fleet.result(finals).groups.at(0);
    EXPECT_EQ(g.seqs.distinct, 4u);
    EXPECT_EQ(g.seqs.expected, 5u);  // 5, 9, 10, 11, 12
    EXPECT_EQ(g.seqs.gaps, 0u);
    EXPECT_EQ(g.seqs.conflated, 1u);
    EXPECT_EQ(g.conflated, 1u);
}

TEST(Fleet, ATargetThatRefusesIsCountedAsFailedAndRetried) {
    // A port with nothing listening: every attempt fails, and the client keeps backing off.
    asio::io_context ioc;
    tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = probe.local_endpoint().port();
    probe.close();
    Fleet fleet(FleetOptions{}, {transactions_group(2)}, {{"127.0.0.1", port}});
    fleet.start();
    std::this_thread::yield();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    FleetResult r;
    // Stop once a few attempts have been made by each client (failures are only readable after
    // stop).
    while (std::chrono::steady_clock::now() < deadline && fleet.sim_elapsed_ms() < 300)
        std::this_thread::yield();
    fleet.stop();
    r = fleet.result({});
    EXPECT_GE(r.groups[0].failed, 2u);
    EXPECT_EQ(r.groups[0].connects, 0u);
    EXPECT_EQ(fleet.connected(), 0u);
}

TEST(Fleet, ClientsAreSpreadOverTheServersRoundRobinOrPinnedToOne) {
    std::atomic<int> on_a{0}, on_b{0};
    ScriptedServer a([&](Ws& ws, int) {
        ++on_a;
        send_welcome(ws, now_us());
    });
    ScriptedServer b([&](Ws& ws, int) {
        ++on_b;
        send_welcome(ws, now_us());
    });
    const std::vector<Address> both{{"127.0.0.1", a.port()}, {"127.0.0.1", b.port()}};
    auto spread = transactions_group(4);
    auto pinned = transactions_group(3);
    pinned.name = "pinned";
    pinned.node = 1;
    Fleet fleet(FleetOptions{}, {spread, pinned}, {both, both});
    fleet.start();
    ASSERT_TRUE(testing::wait_until(
        [&] { return fleet.connected(0) == 4 && fleet.connected(1) == 3; }, 10s));
    fleet.stop();
    EXPECT_EQ(on_a, 2) << "clients 0 and 2 of the spread group";
    EXPECT_EQ(on_b, 2 + 3) << "clients 1 and 3, and the pinned group";
}

TEST(Fleet, AClientThatLosesItsServerResumesOnTheNextOneWithSince) {
    std::mutex mu;
    std::vector<json> on_b;  // the subscriptions the second server received
    ScriptedServer a([](Ws& ws, int connection) {
        send_welcome(ws, now_us());
        beast::flat_buffer buf;
        ws.read(buf);
        if (connection > 0) return;  // a second visit would be a bug: it gets nothing
        for (std::uint64_t s = 1; s <= 3; ++s) send_tx(ws, s, 0);
        ws.close(websocket::close_code::going_away);  // 1001: the node goes down
    });
    ScriptedServer b([&](Ws& ws, int) {
        send_welcome(ws, now_us());
        beast::flat_buffer buf;
        ws.read(buf);
        {
            std::lock_guard lock(mu);
            on_b.push_back(json::parse(beast::buffers_to_string(buf.data())));
        }
        for (std::uint64_t s = 4; s <= 6; ++s) send_tx(ws, s, 0);
    });
    Fleet fleet(
        FleetOptions{}, {transactions_group(1)},
        std::vector<std::vector<Address>>{{{"127.0.0.1", a.port()}, {"127.0.0.1", b.port()}}});
    fleet.start();
    const FinalSeqs finals{{{"/ws/transactions", "ch-1"}, 6}};
    ASSERT_TRUE(testing::wait_until(
        [&] { return fleet.connected(0) == 1 && fleet.caught_up(finals); }, 10s));
    fleet.stop();
    const auto g = fleet.result(finals).groups.at(0);
    EXPECT_EQ(g.reconnects, 1u);
    EXPECT_EQ(g.seqs.gaps, 0u);
    EXPECT_EQ(g.seqs.duplicates, 0u);
    EXPECT_EQ(g.seqs.distinct, 6u);
    std::lock_guard lock(mu);
    ASSERT_EQ(on_b.size(), 1u) << "the client moved to the second server";
    EXPECT_EQ(on_b[0]["since"], (json{{"ch-1", 3}}));
    EXPECT_EQ(on_b[0]["epoch"], "e1");
}

}  // namespace
}  // namespace streambed::fleet
