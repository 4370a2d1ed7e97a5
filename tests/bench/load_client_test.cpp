// load_client_test.cpp: `streambed bench`'s load client against a real in-process server: it counts
// what it receives (plain, batched and compressed), measures lateness against the welcome's clock,
// and reports connections the server closed and connections that never opened.
#include "bench/load_client.hpp"
#include "bench/loopback_floor.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/support/test_server.hpp"

namespace streambed::bench {
namespace {

using engine::Endpoint;
using engine::MessageType;
using testing::TestServer;

// A metrics sample due at the anchored clock's `sim` instant, padded to `pad` bytes of data.
std::string sample(int n, std::size_t pad) {
    return R"({"n":)" + std::to_string(n) + R"(,"pad":")" + std::string(pad, 'x') + "\"}";
}

struct Fixture {
    explicit Fixture(engine::ServerOptions o = testing::test_options()) : srv(std::move(o)) {
        metrics = srv.declare(Endpoint::metrics, "metrics");
        // Simulated time = wall time (the millisecond and the instant it began), so lateness is
        // small and never negative: a message stamped with the current millisecond was due at
        // its start.
        const auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
        srv.server().publisher().set_clock({wall_ms, wall_ms * 1000, 1.0});
    }

    LoadOptions options(std::size_t clients) {
        LoadOptions o;
        o.port = srv.port();
        o.clients = clients;
        o.duration = std::chrono::seconds(60);  // a deadline: the window ends on its count
        return o;
    }

    // Publishes `count` messages stamped now, once every client is connected and the window's
    // first reading taken, so all of them land inside the measured window, which ends when
    // every client has all of them.
    LoadResult run(LoadOptions o, int count, std::size_t pad = 16) {
        const auto all = o.clients * static_cast<std::uint64_t>(count);
        o.until = [all](const fleet::GroupTotals& w) { return w.messages >= all; };
        return run_load(o, [&](Phase phase) {
            if (phase != Phase::connected) return;
            for (int i = 0; i < count; ++i) {
                const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
                srv.publish(metrics, MessageType::metrics, now_ms, sample(i, pad));
            }
        });
    }

    TestServer srv;
    engine::StreamId metrics;
};

TEST(LoadClient, CountsEveryMessageAndMeasuresLateness) {
    Fixture f;
    auto o = f.options(24);
    o.threads = 2;
    const auto r = f.run(o, 30);
    EXPECT_EQ(r.connected, 24u);
    EXPECT_EQ(r.failed, 0u);
    EXPECT_EQ(r.messages, 24u * 30);
    EXPECT_EQ(r.frames, 24u * 30);
    EXPECT_EQ(r.gaps, 0u);
    EXPECT_EQ(r.closed_early, 0u);
    ASSERT_EQ(r.lateness_us.count(), 24u * 30);
    // Stamped with the wall clock just before publishing: late by a little, never early (the
    // welcome's clock and the client's arithmetic agree to the microsecond), never by seconds.
    EXPECT_EQ(r.lateness_us.negatives(), 0u);
    EXPECT_LT(r.lateness_us.max(), 5'000'000);
}

TEST(LoadClient, BatchedArraysCountEachMessage) {
    Fixture f;
    auto o = f.options(4);
    o.batch = true;
    const auto r = f.run(o, 200);
    EXPECT_EQ(r.messages, 4u * 200);
    EXPECT_EQ(r.gaps, 0u);
    EXPECT_LT(r.frames, r.messages);  // the backlog left in arrays
}

TEST(LoadClient, CompressedMessagesAreInflated) {
    auto opts = testing::test_options();
    opts.deflate = true;
    Fixture f(opts);
    auto o = f.options(4);
    o.deflate = true;
    const auto r = f.run(o, 50, 4000);  // large enough that the server compresses
    EXPECT_EQ(r.connected, 4u);
    EXPECT_EQ(r.messages, 4u * 50);
    EXPECT_EQ(r.gaps, 0u);
    EXPECT_EQ(r.closed_early, 0u);
}

TEST(LoadClient, ConnectionsTheServerClosesAreReported) {
    auto opts = testing::test_options();
    opts.drain_timeout =
        std::chrono::milliseconds(100);  // shutdown() waits that long for the closes
    Fixture f(opts);
    auto o = f.options(6);
    o.until = [](const fleet::GroupTotals& w) { return w.lost >= 6; };
    const auto r = run_load(o, [&](Phase phase) {
        if (phase == Phase::connected) f.srv.server().shutdown();  // every client gets 1001
    });
    EXPECT_EQ(r.connected, 6u);
    EXPECT_EQ(r.closed_early, 6u);
    EXPECT_EQ(r.dropped, 6u);
    ASSERT_EQ(r.reasons.size(), 1u);
    EXPECT_TRUE(r.reasons.begin()->first.starts_with("dropped: closed by the server: 1001 "))
        << r.reasons.begin()->first;
    EXPECT_EQ(r.reasons.begin()->second, 6u);
}

TEST(LoadClient, NoServerMeansEveryConnectionFails) {
    std::uint16_t port;
    {
        TestServer gone;  // a port that was just free, now closed
        port = gone.port();
    }
    LoadOptions o;
    o.port = port;
    o.clients = 5;
    o.duration = std::chrono::milliseconds(100);
    const auto r = run_load(o, [](Phase) {});
    EXPECT_EQ(r.connected, 0u);
    EXPECT_EQ(r.failed, 5u);
    EXPECT_EQ(r.messages, 0u);
    EXPECT_EQ(r.reasons.at("failed: connect: Connection refused"), 5u);
}

TEST(LoadClient, NoClientsIsAnEmptyRunThatEnds) {
    Fixture f;
    auto o = f.options(0);
    o.threads = 2;
    o.duration = std::chrono::milliseconds(100);
    const auto r = run_load(o, [](Phase) {});
    EXPECT_EQ(r.connected, 0u);
    EXPECT_EQ(r.failed, 0u);
    EXPECT_EQ(r.messages, 0u);
}

TEST(LoopbackFloor, EveryRoundReachesEveryConnectionAndIsTimed) {
    FloorOptions o;
    o.connections = 40;
    o.message_bytes = 3000;  // a frame with a 16-bit length, read by the fleet like the server's
    o.interval = std::chrono::milliseconds(30);
    o.rounds = 4;
    o.senders = 2;
    o.readers = 2;
    o.subscribe = {"*"};  // asked for, as a run on /ws/channels does: the floor writes regardless
    auto r = measure_floor(o);
    EXPECT_EQ(r.connections, 40u) << "every client welcomed by the bare writer";
    EXPECT_EQ(r.messages, 160u);
    ASSERT_EQ(r.lateness_us.count(), 160u);
    // Each sample is against its own round's due instant: never early, and late by far less
    // than the whole run.
    EXPECT_EQ(r.lateness_us.negatives(), 0u);
    EXPECT_LT(r.lateness_us.max(), 1'000'000);
}

TEST(LoopbackFloor, WithNobodyWelcomedItSaysSoInsteadOfAFigure) {
    FloorOptions o;
    o.connections = 0;
    o.interval = std::chrono::milliseconds(10);
    o.rounds = 1;
    try {
        measure_floor(o);
        ADD_FAILURE() << "a floor of no connection";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "loopback floor: no connection was welcomed");
    }
}

}  // namespace
}  // namespace streambed::bench
